from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.core.errors import DomainError
from incidentdesk.ingest.services import (
    integration_create,
    integration_list,
    integration_revoke,
)


class Command(BaseCommand):
    help = (
        "Create, list or revoke the integrations monitoring tools send alerts to. "
        "`create` prints the routing key once, as the last line."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an integration and print its key")
        create.add_argument("name")
        create.add_argument("--component", default="", help="status page component it concerns")
        create.add_argument("--type", default="", help="incident type of its alerts")
        create.add_argument(
            "--auto-resolve",
            action="store_true",
            help="resolve the incident when all its alerts are resolved",
        )
        sub.add_parser("list", help="list the active integrations")
        revoke = sub.add_parser("revoke", help="refuse an integration's key from now on")
        revoke.add_argument("name")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, f"_{o['action']}")(o)
        except DomainError as exc:
            details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            raise CommandError(f"{exc.detail} {details}".strip()) from None

    def _create(self, o: dict[str, Any]) -> None:
        raw, integration = integration_create(
            by=None,
            name=o["name"],
            component=o["component"],
            type=o["type"],
            auto_resolve=o["auto_resolve"],
        )
        self.stderr.write(
            f"Integration {integration.name!r} created. Send its alerts with this routing key; "
            "keep it secret, it is not shown again."
        )
        self.stdout.write(raw)

    def _list(self, o: dict[str, Any]) -> None:
        rows = integration_list(by=None)
        if not rows:
            self.stdout.write("No integrations.")
            return
        for row in rows:
            extras = [f"component {row.component}"] if row.component else []
            extras += [f"type {row.type}"] if row.type else []
            extras += ["auto-resolve"] if row.auto_resolve else []
            tail = f" ({', '.join(extras)})" if extras else ""
            self.stdout.write(
                f"{row.name}\t{row.prefix}…\tcreated {row.created_at:%Y-%m-%d %H:%M} UTC{tail}"
            )

    def _revoke(self, o: dict[str, Any]) -> None:
        integration = integration_revoke(by=None, name=o["name"])
        self.stdout.write(f"Integration {integration.name!r} revoked: its key is refused.")
