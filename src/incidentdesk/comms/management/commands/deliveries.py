from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidentdesk.comms.models import Delivery, DeliveryState
from incidentdesk.comms.services import deliveries_release


class Command(BaseCommand):
    help = (
        "Deliveries a restore holds (those queued when the backup was taken): 'held' counts "
        "them, 'release' queues them to be sent."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("held", help="how many deliveries are held, by channel")
        sub.add_parser("release", help="queue every held delivery; a running worker sends them")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["action"] == "release":
            released = deliveries_release(by=None)
            self.stdout.write(
                f"Released {released} held deliver{'y' if released == 1 else 'ies'}; "
                "a running worker sends them now."
            )
            return
        held = Delivery.objects.filter(state=DeliveryState.HELD)
        counts: dict[str, int] = {}
        for channel in held.values_list("channel", flat=True).iterator():
            counts[channel] = counts.get(channel, 0) + 1
        total = sum(counts.values())
        detail = ", ".join(f"{n} {channel}" for channel, n in sorted(counts.items()))
        self.stdout.write(f"{total} held deliveries" + (f": {detail}." if detail else "."))
