from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.core.errors import NotFound
from incidentdesk.core.services import audit_verify
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import parse_ref
from incidentdesk.incidents.timeline import verify


class Command(BaseCommand):
    help = "Verify the hash chains of incident timelines (and the audit log)."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "verify", help="recompute the chains; exit 1 at the first broken entry"
        )
        check.add_argument(
            "ref", nargs="?", help="INC-n (default: every incident and the audit log)"
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if o["ref"]:
            try:
                incidents = Incident.objects.filter(pk=parse_ref(o["ref"]))
            except NotFound as exc:
                raise CommandError(str(exc)) from None
            if not incidents.exists():
                raise CommandError(f"No incident {o['ref']}.")
        else:
            incidents = Incident.objects.order_by("pk")
            if not incidents.exists():
                raise CommandError(
                    "The database holds no incidents: there is nothing to verify. If a restore "
                    "or a copy should have put some here, check INCIDENTDESK_DATABASE_URL and "
                    "INCIDENTDESK_DATA_DIR."
                )
        checked = 0
        for incident in incidents.iterator():
            broken = verify(incident)
            if broken is not None:
                raise CommandError(
                    f"{incident.ref}: timeline entry {broken.seq} is broken: {broken.reason}."
                )
            checked += 1
        if not o["ref"]:
            broken = audit_verify()
            if broken is not None:
                raise CommandError(f"audit log: entry {broken.seq} is broken: {broken.reason}.")
        self.stdout.write(
            f"OK: {checked} timeline{'s' if checked != 1 else ''} intact"
            + ("" if o["ref"] else ", audit log intact")
            + "."
        )
