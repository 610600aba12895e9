from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from incidentdesk.core.backups import ATTACHMENTS, DATA, is_stored_name
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import files
from incidentdesk.portal.models import Attachment


class Command(BaseCommand):
    help = (
        "Load a backup written by 'incidentdesk backup' (its zip archive, or the JSON file of "
        "earlier versions) into an empty database, with the attachments' files."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **o: Any) -> None:
        source = Path(o["file"])
        if not source.is_file():
            raise CommandError(f"No backup at {source}.")
        call_command("migrate", interactive=False, verbosity=0)
        if Incident.objects.exists():
            raise CommandError("The database already holds incidents; restore into an empty one.")
        with tempfile.TemporaryDirectory() as tmp:
            archive = zipfile.ZipFile(source) if zipfile.is_zipfile(source) else None
            if archive is None:
                data = source  # a JSON backup: records only
            else:
                if DATA not in archive.namelist():
                    raise CommandError(f"{source} is a zip file but not an IncidentDesk backup.")
                data = Path(tmp) / DATA
                with archive.open(DATA) as src, open(data, "wb") as out:
                    shutil.copyfileobj(src, out)
            with transaction.atomic():
                call_command("flush", interactive=False, verbosity=0)
                call_command("loaddata", str(data), verbosity=0)
            restored, missing = self._files(archive)
        self.stdout.write(
            f"Restored {source}: {Incident.objects.count()} incidents, {restored} attachment "
            "files; run 'incidentdesk timeline verify' to check it."
        )
        if missing:
            self.stderr.write(
                f"{len(missing)} attachment(s) have no file in the backup (or a file that does "
                f"not match its checksum): {', '.join(missing[:5])}"
            )

    def _files(self, archive: zipfile.ZipFile | None) -> tuple[int, list[str]]:
        """Copy each recorded attachment's file out of the archive, checked against the
        SHA-256 its record holds; anything else in the archive is ignored."""
        members = set(archive.namelist()) if archive is not None else set()
        restored, missing = 0, []
        for name, sha256 in Attachment.objects.order_by("pk").values_list("stored_as", "sha256"):
            member = f"{ATTACHMENTS}/{name}"
            if archive is None or not is_stored_name(name) or member not in members:
                missing.append(name)
                continue
            target = files.path_of(name)
            digest = hashlib.sha256()
            with archive.open(member) as src, open(target, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 16), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                target.unlink()
                missing.append(name)
                continue
            restored += 1
        return restored, missing
