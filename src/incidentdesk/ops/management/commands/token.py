from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.accounts.models import ApiToken, TokenScope, User
from incidentdesk.accounts.selectors import token_find
from incidentdesk.accounts.services import token_create, token_revoke
from incidentdesk.core import clock
from incidentdesk.core.errors import DomainError


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "API tokens: create (the token is printed once, as the last line), list, revoke."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="cli")
        create.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.WRITE,
            help="read: only reads (GET); write: reads and changes (default); metrics: only /metrics",
        )
        create.add_argument(
            "--expires-in", type=int, metavar="DAYS", help="days until it expires (default never)"
        )
        listing = sub.add_parser("list", help="list tokens (never the tokens themselves)")
        listing.add_argument("--email", help="only this person's tokens")
        listing.add_argument("--all", action="store_true", help="with revoked and expired ones")
        revoke = sub.add_parser("revoke", help="revoke a token by its id or prefix")
        revoke.add_argument("token", metavar="ID_OR_PREFIX")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, f"_{o['action']}")(o)
        except DomainError as exc:
            problems = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            raise CommandError(f"{exc.detail} {problems}".strip()) from None

    def _user(self, email: str) -> User:
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active account {email}.")
        return user

    def _create(self, o: dict[str, Any]) -> None:
        user = self._user(o["email"])
        raw, token = token_create(
            by=None, user=user, name=o["name"], scope=o["scope"], expires_in_days=o["expires_in"]
        )
        expiry = f"expires {_when(token.expires_at)} UTC" if token.expires_at else "no expiry"
        self.stderr.write(
            f"Token {token.prefix}… ({token.scope}, {expiry}) for {user.email}. "
            "Keep it secret; it is not shown again."
        )
        self.stdout.write(raw)

    def _list(self, o: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__email", "-created_at")
        if o["email"]:
            tokens = tokens.filter(user=self._user(o["email"]))
        now = clock.now()
        rows = [t for t in tokens if o["all"] or t.state_at(now) == "active"]
        if not rows:
            self.stdout.write("No tokens.")
            return
        header = ("ID", "PREFIX", "OWNER", "NAME", "SCOPE", "STATE", "EXPIRES", "LAST USED")
        table = [header] + [
            (
                str(t.pk),
                t.prefix,
                t.user.email,
                t.name or "-",
                t.scope,
                t.state_at(now),
                _when(t.expires_at),
                _when(t.last_used_at),
            )
            for t in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )

    def _revoke(self, o: dict[str, Any]) -> None:
        token = token_revoke(by=None, token=token_find(ident=o["token"]))
        self.stdout.write(f"Token {token.prefix}… of {token.user.email} revoked.")
