from __future__ import annotations

import datetime as dt
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from incidentdesk.core.backups import ATTACHMENTS, DATA, is_stored_name
from incidentdesk.portal import files
from incidentdesk.portal.models import Attachment


class _ExactTimes(DjangoJSONEncoder):
    """Django's encoder cuts datetimes to milliseconds; timeline hashes cover microseconds, so a
    backup written with it would restore into chains that no longer verify."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat()
        return super().default(o)


class Command(BaseCommand):
    help = (
        "Write all IncidentDesk data and the attachments' files to one archive (a zip file); "
        "restore it with 'incidentdesk restore'."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the archive to write, e.g. incidentdesk-backup.zip")

    def handle(self, *args: Any, **o: Any) -> None:
        target = Path(o["file"])
        if target.is_dir():
            raise CommandError(f"{target} is a directory; name the archive to write.")
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
            self._progress(f"{model._meta.label}: {len(objects)} records so far")
        stored = list(Attachment.objects.order_by("pk").values_list("stored_as", flat=True))
        missing: list[str] = []
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(DATA, json.dumps(objects, cls=_ExactTimes, ensure_ascii=False))
            for i, name in enumerate(stored, 1):
                path = files.path_of(name)
                if not is_stored_name(name) or not path.is_file():
                    missing.append(name)
                    continue
                archive.write(path, f"{ATTACHMENTS}/{name}")
                self._progress(f"attachments: {i} of {len(stored)}")
        partial.replace(target)
        self._progress("")
        self.stdout.write(
            f"Backup written to {target}: {len(objects)} records, "
            f"{len(stored) - len(missing)} attachment files."
        )
        if missing:
            self.stderr.write(
                f"{len(missing)} attachment file(s) were missing from "
                f"{files.root()} and are not in the backup: {', '.join(missing[:5])}"
            )

    def _progress(self, text: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()
