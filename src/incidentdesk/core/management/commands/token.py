from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.accounts.models import User
from incidentdesk.accounts.services import token_create


class Command(BaseCommand):
    help = "Create an API token for an account. The token is printed once, as the last line."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="cli")

    def handle(self, *args: Any, **o: Any) -> None:
        user = User.objects.filter(email=o["email"].strip().lower()).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active account {o['email']}.")
        raw, token = token_create(by=None, user=user, name=o["name"])
        self.stderr.write(
            f"Token {token.prefix}… for {user.email}. Keep it secret; it is not shown again."
        )
        self.stdout.write(raw)
