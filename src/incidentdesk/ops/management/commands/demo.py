from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from incidentdesk.demo import loader, scale
from incidentdesk.policy.services import policy_sync_from_file


class Command(BaseCommand):
    help = "Load the demo organisation Spacewise with people and incidents (only once)."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=int, default=0, metavar="N", help="add N incidents")

    def handle(self, *args: Any, **o: Any) -> None:
        policy_sync_from_file()
        if loader.load():
            self.stdout.write("Demo data loaded.")
        else:
            self.stdout.write("Demo data already present; nothing added.")
        if o["scale"] > 0:
            self.stdout.write(scale.generate(o["scale"], stream=sys.stderr).summary())
        self.stdout.write(
            f"\nOpen {settings.BASE_URL}/ and log in with password '{loader.PASSWORD}' as:"
        )
        for login in loader.LOGINS:
            where = f" ({login.org})" if login.org else ""
            self.stdout.write(f"  {login.role:<12} {login.email}{where}")
        if settings.EMAIL_URL_IS_DEFAULT:
            self.stdout.write(
                "\nThe demo's e-mails go to `incidentdesk mailsink` when it runs on"
                f" 127.0.0.1:1025, or else are kept as .eml files in {settings.MAILSINK_DIR}/."
            )
