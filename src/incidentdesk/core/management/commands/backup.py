from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Write all IncidentDesk data to a JSON file (restore it with 'incidentdesk restore')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **o: Any) -> None:
        from django.apps import apps

        labels = [a.label for a in apps.get_app_configs() if a.name.startswith("incidentdesk.")]
        call_command("dumpdata", *labels, output=o["file"], indent=None, verbosity=0)
        self.stdout.write(f"Backup written to {o['file']}.")
