from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from incidentdesk.comms.keys import stored_count
from incidentdesk.core import crypto
from incidentdesk.core.backups import (
    ATTACHMENTS,
    DATA,
    KEYS,
    PASSPHRASE_ENV,
    PassphraseError,
    is_stored_name,
    passphrase,
    progress,
    seal,
    snapshot,
)
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
        "Write all IncidentDesk data and the attachments' files to one archive (a zip file), "
        "read in one consistent snapshot while people keep working; with a passphrase, the "
        "keys of the stored secrets go in too, sealed with it. Restore it with "
        "'incidentdesk restore'."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the archive to write, e.g. incidentdesk-backup.zip")
        parser.add_argument(
            "--passphrase-file",
            help=f"a file whose first line is the passphrase (else ${PASSPHRASE_ENV})",
        )
        parser.add_argument(
            "--no-passphrase",
            action="store_true",
            help="write no keys: the secrets then restore only under this INCIDENTDESK_SECRET_KEY",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        target = Path(o["file"])
        if target.is_dir():
            raise CommandError(f"{target} is a directory; name the archive to write.")
        try:
            secret = passphrase(o["passphrase_file"])
        except PassphraseError as exc:
            raise CommandError(str(exc)) from None
        if secret is not None and o["no_passphrase"]:
            raise CommandError("--no-passphrase, yet a passphrase was given: choose one.")
        with snapshot():
            secrets = stored_count()
            if secrets and secret is None and not o["no_passphrase"]:
                raise CommandError(
                    f"{secrets} records hold secrets (channel URLs, signing secrets, personal "
                    "chat URLs) that only this machine's key decrypts. Give a passphrase to "
                    f"seal the key in the backup (--passphrase-file FILE or ${PASSPHRASE_ENV}), "
                    "or --no-passphrase for a backup whose secrets restore only where "
                    "INCIDENTDESK_SECRET_KEY is this one."
                )
            objects = self._records()
            stored = list(Attachment.objects.order_by("pk").values_list("stored_as", flat=True))
        missing: list[str] = []
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(DATA, json.dumps(objects, cls=_ExactTimes, ensure_ascii=False))
            if secret is not None:
                archive.writestr(KEYS, seal({"comms": crypto.keys()}, secret))
            for i, name in enumerate(stored, 1):
                path = files.path_of(name)
                if not is_stored_name(name) or not path.is_file():
                    missing.append(name)
                    continue
                archive.write(path, f"{ATTACHMENTS}/{name}")
                progress(f"attachments: {i} of {len(stored)}")
        partial.replace(target)
        progress("")
        sealed = "the secrets' keys sealed with the passphrase" if secret else "no keys"
        self.stdout.write(
            f"Backup written to {target}: {len(objects)} records, "
            f"{len(stored) - len(missing)} attachment files, {sealed}."
        )
        if secrets and secret is None:
            self.stderr.write(
                f"{secrets} records hold secrets this backup cannot decrypt elsewhere: restored "
                "under another INCIDENTDESK_SECRET_KEY, their channels and chat URLs must be "
                "entered again."
            )
        if missing:
            self.stderr.write(
                f"{len(missing)} attachment file(s) were missing from "
                f"{files.root()} and are not in the backup: {', '.join(missing[:5])}"
            )

    def _records(self) -> list[dict[str, Any]]:
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
            progress(f"{model._meta.label}: {len(objects)} records so far")
        return objects
