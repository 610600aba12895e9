from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidentdesk.statuspage.export import export


class Command(BaseCommand):
    help = "The public status page: export DIR writes it as static files."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        out = sub.add_parser(
            "export",
            help="write the page, history, permalinks, /api/v2 JSON, feeds, calendar and "
            "badges under DIR, at the paths the live site uses",
        )
        out.add_argument("dir", help="target directory (created if missing)")

    def handle(self, *args: Any, **o: Any) -> None:
        target = Path(o["dir"])
        target.mkdir(parents=True, exist_ok=True)
        written = export(target)
        self.stdout.write(f"Wrote {len(written)} files to {target}.")
