"""A backup holds every record and the attachments' files; restoring it into an empty database
and a new data directory gives back both, with the timelines still verifying."""

from __future__ import annotations

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import services as portal
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"screenshot" * 50


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _reported(stakeholder) -> Incident:
    return portal.portal_report(
        by=stakeholder,
        title="Checkout fails with error 500",
        description="Customers cannot pay.",
        uploads=[Upload("screen.png", PNG)],
    )


def test_backup_and_restore_bring_back_records_and_files(
    transactional_db, settings, tmp_path, stakeholder
):
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"
    incident = _reported(stakeholder)
    stored_as = Attachment.objects.get(incident=incident).stored_as
    archive = tmp_path / "backup.zip"

    out, _ = _run("backup", str(archive))
    assert "1 attachment files" in out
    with zipfile.ZipFile(archive) as z:
        assert z.read(f"attachments/{stored_as}") == PNG
        records = json.loads(z.read("data.json"))
    assert any(r["model"] == "incidents.incident" for r in records)

    # a new machine: an empty database, an empty data directory
    call_command("flush", interactive=False, verbosity=0)
    settings.ATTACHMENTS_DIR = tmp_path / "elsewhere"
    out, err = _run("restore", str(archive))
    assert "1 incidents, 1 attachment files" in out and not err
    restored = Incident.objects.get(pk=incident.pk)
    assert timeline.verify(restored) is None
    assert (tmp_path / "elsewhere" / stored_as).read_bytes() == PNG


def test_restore_refuses_a_tampered_file_and_names_it(
    transactional_db, settings, tmp_path, stakeholder
):
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"
    incident = _reported(stakeholder)
    stored_as = Attachment.objects.get(incident=incident).stored_as
    archive, tampered = tmp_path / "backup.zip", tmp_path / "tampered.zip"
    _run("backup", str(archive))
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, b"not the screenshot" if name.endswith(stored_as) else data)
        # a path outside the attachments store is never written
        out.writestr("attachments/../../escaped", b"x")

    call_command("flush", interactive=False, verbosity=0)
    settings.ATTACHMENTS_DIR = tmp_path / "elsewhere"
    out, err = _run("restore", str(tampered))
    assert "0 attachment files" in out
    assert stored_as in err and "checksum" in err
    assert not (tmp_path / "elsewhere" / stored_as).exists()
    assert not (tmp_path / "escaped").exists()
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_restore_refuses_a_database_that_holds_incidents(transactional_db, tmp_path, stakeholder):
    _reported(stakeholder)
    archive = tmp_path / "backup.zip"
    _run("backup", str(archive))
    with pytest.raises(CommandError, match="restore into an empty one"):
        _run("restore", str(archive))
    with pytest.raises(CommandError, match="No backup at"):
        _run("restore", str(tmp_path / "missing.zip"))
