from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.core.errors import NotFound
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import parse_ref
from incidentdesk.reviews import export


class Command(BaseCommand):
    help = "Write an incident's whole documented record (policy step 6) to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ref", help="INC-n")
        parser.add_argument("--format", choices=["md", "json"], default="md")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            incident = Incident.objects.filter(pk=parse_ref(o["ref"])).first()
        except NotFound as exc:
            raise CommandError(str(exc)) from None
        if incident is None:
            raise CommandError(f"No incident {o['ref']}.")
        record = export.incident_record(incident)
        text = export.as_json(record) if o["format"] == "json" else export.as_markdown(record)
        self.stdout.write(text, ending="")
