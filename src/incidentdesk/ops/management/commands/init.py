from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from incidentdesk.policy.loader import PolicyInvalid
from incidentdesk.policy.services import policy_sync_from_file
from incidentdesk.statuspage.prepared import prepare


class Command(BaseCommand):
    help = "Create or upgrade the database, collect static files and load the policy."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        try:
            version = policy_sync_from_file()
        except PolicyInvalid as exc:
            raise CommandError(f"The policy file has problems:\n{exc}") from None
        if settings.STATUSPAGE_PREPARE:
            prepare(force=True)
        self.stdout.write(f"Database ready; active policy v{version.pk} ({version.source}).")
