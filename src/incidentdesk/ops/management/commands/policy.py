from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidentdesk.policy import loader
from incidentdesk.policy.selectors import active_version
from incidentdesk.policy.services import policy_activate_text


class Command(BaseCommand):
    help = "Check, show or load the policy."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="check a policy file and list every problem")
        check.add_argument("file")
        show = sub.add_parser("show", help="print the active policy")
        show.add_argument("--format", choices=["toml", "json"], default="toml")
        load = sub.add_parser("load", help="check a policy file and make it the active policy")
        load.add_argument("file")

    def handle(self, *args: Any, **o: Any) -> None:
        action = o["action"]
        if action == "check":
            self._check(Path(o["file"]))
        elif action == "show":
            version = active_version()
            text = type(version).objects.get(pk=version.pk).text
            if o["format"] == "json":
                self.stdout.write(json.dumps(loader.parse(text).model_dump(mode="json"), indent=2))
            else:
                self.stdout.write(
                    f"# active policy v{version.pk}, sha256 {version.content_hash}\n{text}"
                )
        else:
            path = Path(o["file"])
            text, _ = self._check(path)
            version = policy_activate_text(by=None, text=text, source=str(path))
            self.stdout.write(f"Active policy is now v{version.pk}.")

    def _check(self, path: Path) -> tuple[str, Any]:
        try:
            text, policy = loader.load_file(path)
        except loader.PolicyInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(f"{path}: {problem}")
            n = len(exc.problems)
            raise CommandError(
                f"{n} problem{'s' if n != 1 else ''} found; the policy was not accepted."
            ) from None
        self.stdout.write(
            f"{path}: OK ({len(policy.types)} types, {len(policy.severities)} severities, "
            f"{len(policy.impacts)} impact levels, {len(policy.guidelines)} guidelines)"
        )
        return text, policy
