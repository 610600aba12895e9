from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.incidents.models import Incident


class Command(BaseCommand):
    help = "Load a backup written by 'incidentdesk backup' into an empty database."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **o: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if Incident.objects.exists():
            raise CommandError("The database already holds incidents; restore into an empty one.")
        call_command("flush", interactive=False, verbosity=0)
        call_command("loaddata", o["file"], verbosity=0)
        self.stdout.write(f"Restored {o['file']}; run 'incidentdesk timeline verify' to check it.")
