from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from incidentdesk.comms.keys import Unreadable, secrets_rekey
from incidentdesk.comms.services import RELEASE_HINT, deliveries_hold
from incidentdesk.core.backups import (
    ATTACHMENTS,
    DATA,
    KEYS,
    PASSPHRASE_ENV,
    PassphraseError,
    is_stored_name,
    passphrase,
    progress,
    unseal,
)
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import files
from incidentdesk.portal.models import Attachment
from incidentdesk.statuspage.prepared import prepare


class Command(BaseCommand):
    help = (
        "Load a backup written by 'incidentdesk backup' (its zip archive, or the JSON file of "
        "earlier versions) into an empty database, with the attachments' files. Secrets are "
        "re-encrypted under this machine's key; queued deliveries are held until "
        "'incidentdesk deliveries release'."
    )
    # a one-shot command: Django's system checks would double its start-up time
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--passphrase-file",
            help=f"a file whose first line is the backup's passphrase (else ${PASSPHRASE_ENV})",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        source = Path(o["file"])
        if not source.is_file():
            raise CommandError(f"No backup at {source}.")
        archive = zipfile.ZipFile(source) if zipfile.is_zipfile(source) else None
        if archive is not None and DATA not in archive.namelist():
            raise CommandError(f"{source} is a zip file but not an IncidentDesk backup.")
        keys = self._keys(archive, o["passphrase_file"])
        call_command("migrate", interactive=False, verbosity=0)
        if Incident.objects.exists():
            raise CommandError("The database already holds incidents; restore into an empty one.")
        with tempfile.TemporaryDirectory() as tmp:
            if archive is None:
                data = source  # a JSON backup: records only
            else:
                data = Path(tmp) / DATA
                with archive.open(DATA) as src, open(data, "wb") as out:
                    shutil.copyfileobj(src, out)
            unreadable, held = self._load(data, keys)
            restored, missing = self._files(archive)
        progress("")
        if settings.STATUSPAGE_PREPARE:
            # the public front shows the restored page, not what this machine served before
            prepare(force=True)
        self.stdout.write(
            f"Restored {source}: {Incident.objects.count()} incidents, {restored} attachment "
            "files; run 'incidentdesk timeline verify' to check it."
        )
        if held:
            self.stdout.write(f"{held} queued deliveries are held: {RELEASE_HINT}.")
        if unreadable:
            self.stderr.write(
                "These secrets came without the key that decrypts them (a backup written with "
                "--no-passphrase, restored under another INCIDENTDESK_SECRET_KEY); each fails "
                f"its own deliveries until entered again: {unreadable.describe()}."
            )
        if missing:
            self.stderr.write(
                f"{len(missing)} attachment(s) have no file in the backup (or a file that does "
                f"not match its checksum): {', '.join(missing[:5])}"
            )

    def _keys(self, archive: zipfile.ZipFile | None, file: str | None) -> list[str] | None:
        """The keys the archive carries, unsealed; None for a backup without any."""
        if archive is None or KEYS not in archive.namelist():
            return None
        try:
            secret = passphrase(file)
            if secret is None:
                raise PassphraseError(
                    "This backup carries the keys of its secrets, sealed with a passphrase: "
                    f"give it with --passphrase-file FILE or ${PASSPHRASE_ENV}."
                )
            payload = unseal(archive.read(KEYS), secret)
        except PassphraseError as exc:
            raise CommandError(str(exc)) from None
        comms = payload.get("comms")
        if not isinstance(comms, list) or not all(isinstance(k, str) for k in comms):
            raise CommandError("The backup's sealed keys are not readable.")
        return comms

    def _load(self, data: Path, keys: list[str] | None) -> tuple[Unreadable, int]:
        """Records, secrets under this machine's key and held deliveries: all or nothing."""
        with transaction.atomic():
            progress("loading the records")
            call_command("flush", interactive=False, verbosity=0)
            call_command("loaddata", str(data), verbosity=0)
            progress("re-encrypting the secrets")
            unreadable = secrets_rekey(keys or [])
            if unreadable and keys is not None:
                raise CommandError(
                    "The backup's keys do not decrypt all of its secrets, so nothing was "
                    f"restored: {unreadable.describe()}."
                )
            held = deliveries_hold(source="restore")
        return unreadable, held

    def _files(self, archive: zipfile.ZipFile | None) -> tuple[int, list[str]]:
        """Copy each recorded attachment's file out of the archive, checked against the
        SHA-256 its record holds; anything else in the archive is ignored."""
        members = set(archive.namelist()) if archive is not None else set()
        restored, missing = 0, []
        stored = list(Attachment.objects.order_by("pk").values_list("stored_as", "sha256"))
        for i, (name, sha256) in enumerate(stored, 1):
            progress(f"attachments: {i} of {len(stored)}")
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
