"""A backup holds every record and the attachments' files; restoring it into an empty database
and a new data directory gives back both, with the timelines still verifying."""

from __future__ import annotations

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidentdesk.accounts.models import IdentityProvider
from incidentdesk.accounts.provider_services import ProviderInput, provider_create
from incidentdesk.comms import services as comms
from incidentdesk.comms.models import Channel, Delivery, Preference
from incidentdesk.core import crypto
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import services as portal
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment

from ..comms.conftest import http_receiver, run_worker  # noqa: F401
from ..comms.test_webhook_apprise import verify_standard_webhook
from ..identity.providers import ForgedProvider

PASSPHRASE = "correct horse battery staple"
IDP_SECRET = "contoso-idp-s3cret"
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


def test_timeline_verify_on_an_empty_database_says_so_and_fails(transactional_db):
    with pytest.raises(CommandError, match="holds no incidents: there is nothing to verify"):
        _run("timeline", "verify")


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return str(path)


@pytest.fixture
def with_secrets(admin, manager, member, stakeholder, http_receiver):  # noqa: F811
    """A webhook channel (URL and signing secret), a personal chat URL, an identity provider's
    client secret, and an incident whose categorization queued deliveries to both."""
    url, _ = http_receiver
    channel, secret = comms.channel_create(
        by=admin,
        name="Northwind hook",
        kind="webhook",
        url=f"{url}/hook",
        audiences=["stakeholders"],
    )
    comms.preference_set(by=manager, muted=[], apprise_url="json://127.0.0.1:9/chat?token=t0k")
    with ForgedProvider("honest").running() as idp:  # its discovery document, when it is added
        provider_create(
            by=admin,
            data=ProviderInput(
                name="Contoso SSO",
                issuer=idp.issuer,
                client_id="incidentdesk",
                client_secret=IDP_SECRET,
                role_map="contoso-staff=stakeholder:Contoso",
            ),
        )
    incident = incidents.incident_report(by=stakeholder, title="Tills cannot sync")
    incidents.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all", reason="r"
    )
    return channel, secret, incident


def test_backup_with_secrets_asks_for_a_passphrase_and_writes_nothing(
    transactional_db, tmp_path, with_secrets
):
    archive = tmp_path / "backup.zip"
    with pytest.raises(CommandError, match="Give a passphrase to seal the key") as refused:
        _run("backup", str(archive))
    assert "--passphrase-file FILE or $INCIDENTDESK_BACKUP_PASSPHRASE" in str(refused.value)
    assert not archive.exists() and not (tmp_path / "backup.zip.partial").exists()
    short = tmp_path / "short"
    short.write_text("hunter2\n")
    with pytest.raises(CommandError, match="at least 12 characters"):
        _run("backup", str(archive), "--passphrase-file", str(short))
    assert not archive.exists()


def test_restore_on_a_new_machine_re_encrypts_every_secret_and_holds_the_queue(
    transactional_db,
    settings,
    tmp_path,
    passphrase_file,
    with_secrets,
    http_receiver,  # noqa: F811
    manager,
):
    _, secret, incident = with_secrets
    queued = set(Delivery.objects.filter(state="queued").values_list("key", flat=True))
    assert len(queued) >= 2
    archive = tmp_path / "backup.zip"
    out, _ = _run("backup", str(archive), "--passphrase-file", passphrase_file)
    assert "the secrets' keys sealed with the passphrase" in out
    with zipfile.ZipFile(archive) as z:
        sealed = z.read("keys.json").decode()
        assert IDP_SECRET not in z.read("data.json").decode()
    assert settings.SECRET_KEY not in sealed and "comms" not in sealed

    call_command("flush", interactive=False, verbosity=0)
    settings.SECRET_KEY = "the new machine's own key, never the old one"
    with pytest.raises(CommandError, match="give it with --passphrase-file"):
        _run("restore", str(archive))
    out, err = _run("restore", str(archive), "--passphrase-file", passphrase_file)
    assert f"{len(queued)} queued deliveries are held" in out and not err
    assert set(Delivery.objects.filter(state="held").values_list("key", flat=True)) == queued
    assert crypto.decrypt(Channel.objects.get().secret_encrypted) == secret
    pref = Preference.objects.get(user=manager)
    assert crypto.decrypt(pref.apprise_url_encrypted) == "json://127.0.0.1:9/chat?token=t0k"
    assert crypto.decrypt(IdentityProvider.objects.get().client_secret_encrypted) == IDP_SECRET
    held = AuditEntry.objects.get(kind="deliveries_held")
    assert held.data == {"count": len(queued), "source": "restore"}

    _, received = http_receiver
    run_worker()
    assert received.requests == []
    out, _ = _run("deliveries", "held")
    assert out.startswith(f"{len(queued)} held deliveries:")
    out, _ = _run("deliveries", "release")
    assert out.startswith(f"Released {len(queued)} held deliveries")
    assert AuditEntry.objects.get(kind="deliveries_released").data == {"count": len(queued)}
    run_worker()
    (path, headers, body) = received.requests[-1]
    assert path == "/hook" and verify_standard_webhook(secret, headers, body)
    assert Delivery.objects.get(channel="webhook").state == "sent"
    assert timeline.verify(Incident.objects.get(pk=incident.pk)) is None


def test_restore_refuses_a_wrong_passphrase_and_writes_nothing(
    transactional_db, settings, tmp_path, passphrase_file, with_secrets
):
    archive = tmp_path / "backup.zip"
    _run("backup", str(archive), "--passphrase-file", passphrase_file)
    call_command("flush", interactive=False, verbosity=0)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    with pytest.raises(CommandError, match="not the passphrase this backup was written with"):
        _run("restore", str(archive), "--passphrase-file", str(wrong))
    assert not Incident.objects.exists() and not Channel.objects.exists()


def test_a_backup_without_keys_restores_and_names_what_cannot_be_decrypted(
    transactional_db, settings, tmp_path, with_secrets, manager
):
    archive = tmp_path / "backup.zip"
    _, err = _run("backup", str(archive), "--no-passphrase")
    assert "cannot decrypt elsewhere" in err
    with zipfile.ZipFile(archive) as z:
        assert "keys.json" not in z.namelist()

    call_command("flush", interactive=False, verbosity=0)
    settings.SECRET_KEY = "the new machine's own key, never the old one"
    _, err = _run("restore", str(archive))
    assert "channels 'Northwind hook'" in err
    assert f"the own chat URLs of {manager.email}" in err
    assert "the client secrets of the identity providers 'Contoso SSO'" in err
    assert Incident.objects.count() == 1
    with pytest.raises(ValueError, match="cannot decrypt"):
        crypto.decrypt(Channel.objects.get().url_encrypted)


def test_rotating_the_secret_key_keeps_every_secret(
    transactional_db, settings, with_secrets, manager
):
    _, secret, _ = with_secrets
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the new secret key", [old]
    out, _ = _run("secrets", "check")
    assert out.startswith("Every stored secret decrypts:")
    out, _ = _run("secrets", "reencrypt")
    assert out.startswith("Re-encrypted the stored secrets under the current key:")
    assert AuditEntry.objects.filter(kind="secrets_reencrypted").count() == 1

    settings.SECRET_KEY_FALLBACKS = []
    assert crypto.decrypt(Channel.objects.get().secret_encrypted) == secret
    assert crypto.decrypt(IdentityProvider.objects.get().client_secret_encrypted) == IDP_SECRET
    pref = Preference.objects.get(user=manager)
    assert crypto.decrypt(pref.apprise_url_encrypted) == "json://127.0.0.1:9/chat?token=t0k"
    _run("secrets", "check")

    settings.SECRET_KEY = "yet another key, without its predecessor"
    with pytest.raises(CommandError, match="channels 'Northwind hook'; the own chat URLs of"):
        _run("secrets", "check")
