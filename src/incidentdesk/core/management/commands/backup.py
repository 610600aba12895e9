from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder


class _ExactTimes(DjangoJSONEncoder):
    """Django's encoder cuts datetimes to milliseconds; timeline hashes cover microseconds, so a
    backup written with it would restore into chains that no longer verify."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat()
        return super().default(o)


class Command(BaseCommand):
    help = "Write all IncidentDesk data to a JSON file (restore it with 'incidentdesk restore')."
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **o: Any) -> None:
        configs = [a for a in apps.get_app_configs() if a.name.startswith("incidentdesk.")]
        models = serializers.sort_dependencies(
            [(config, None) for config in configs], allow_cycles=True
        )
        objects: list[dict[str, Any]] = []
        for model in models:
            if model._meta.proxy or not model._meta.managed:
                continue
            rows = model._base_manager.order_by(model._meta.pk.name)
            objects.extend(serializers.serialize("python", rows.iterator()))
        with open(o["file"], "w", encoding="utf-8") as out:
            json.dump(objects, out, cls=_ExactTimes, ensure_ascii=False)
        self.stdout.write(f"Backup written to {o['file']}.")
