from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.comms.keys import secrets_unreadable, stored_count
from incidentdesk.comms.services import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "The stored secrets (channel URLs and signing secrets, personal chat URLs): 'check' "
        "that this machine's keys decrypt every one; 'reencrypt' them under the current "
        "INCIDENTDESK_SECRET_KEY, the last step of rotating it."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="exit 1 naming each secret no key decrypts")
        sub.add_parser(
            "reencrypt",
            help="re-encrypt under INCIDENTDESK_SECRET_KEY what its fallbacks decrypt",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if o["action"] == "reencrypt":
            unreadable = secrets_reencrypt(by=None)
            done = "Re-encrypted the stored secrets under the current key"
        else:
            unreadable = secrets_unreadable()
            done = "Every stored secret decrypts"
        if unreadable:
            raise CommandError(
                f"These secrets decrypt with no key given: {unreadable.describe()}. Add the key "
                "they were stored under to INCIDENTDESK_SECRET_KEY_FALLBACKS, or enter them "
                "again."
            )
        self.stdout.write(f"{done}: {stored_count()} records hold secrets.")
