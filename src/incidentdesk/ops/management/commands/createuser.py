from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.accounts.services import user_create
from incidentdesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an account. A stakeholder needs --org (created when new)."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        # validated by the service, so that a bad role is reported with the other problems
        parser.add_argument("--role", required=True, help="admin, manager, member or stakeholder")
        parser.add_argument("--org", default=None, help="stakeholder organisation")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            user = user_create(
                by=None,
                email=o["email"],
                password=o["password"],
                role=o["role"],
                org_name=o["org"],
                first_name=o["first_name"],
                last_name=o["last_name"],
            )
        except DomainError as exc:
            raise CommandError(format_error(exc)) from None
        org = f" at {user.organisation}" if user.organisation else ""
        self.stdout.write(f"Created {user.role} {user.email}{org}.")


def format_error(exc: DomainError) -> str:
    lines = [exc.detail] + [f"  {e.field}: {e.message}" for e in exc.errors]
    return "\n".join(lines)
