"""A backup taken by the real `incidentdesk backup` while four writers report, categorize and
post updates restores on another machine (its own secret key, data directory and database)
with every record, every attachment and every secret; its timelines verify and the deliveries
that were queued wait for an operator. Runs on the database engine of the suite's run: its own
SQLite data directories, or PostgreSQL databases of its own, created and dropped here."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

from incidentdesk.comms.keys import SEALED
from incidentdesk.core.backups import unseal

from ..cli.helpers import INCIDENTDESK, env_for

PASSPHRASE = "four writers, one snapshot"
WRITERS = 4
POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
SEALED_FIELDS = {model._meta.label_lower: names for model, names in SEALED.items()}

PRODUCT = """
from incidentdesk.accounts.models import User
from incidentdesk.comms import services as comms
from incidentdesk.portal.files import Upload
from incidentdesk.portal.services import portal_report
from incidentdesk.statuspage.subscriptions import subscribe_email, subscribe_webhook

admin = User.objects.get(email="admin@spacewise.example")
manager = User.objects.get(email="manager@spacewise.example")
comms.channel_create(
    by=admin, name="Northwind hook", kind="webhook", url="http://127.0.0.1:9/hook?token=h00k",
    audiences=["stakeholders", "team"],
)
comms.channel_create(
    by=admin, name="Team chat", kind="apprise", url="json://127.0.0.1:9/chat?token=ch4t",
    audiences=["team", "manager"],
)
comms.preference_set(by=manager, muted=[], apprise_url="json://127.0.0.1:9/morgan?token=m0rgan")
subscribe_email(email="watcher@example.test")
subscribe_webhook(url="https://status-watch.example.test/hook")
portal_report(
    by=User.objects.get(email="ops@northwind.example"),
    title="Receipts print blank",
    uploads=[Upload("receipt.png", b"PNG receipt" * 40)],
)
"""

WRITER = """
import os
from pathlib import Path
from incidentdesk.accounts.models import User
from incidentdesk.incidents import services as s
from incidentdesk.portal.files import Upload
from incidentdesk.portal.services import portal_report

stop, me = Path(os.environ["LOAD_STOP"]), os.environ["LOAD_WRITER"]
reporter = User.objects.get(email="ops@northwind.example")
member = User.objects.get(email="alex@spacewise.example")
n = 0
while not stop.exists():
    n += 1
    incident = portal_report(
        by=reporter, title=f"Tills offline {me}.{n}", uploads=[Upload("till.log", me.encode() * n)]
    )
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all",
        reason="every store",
    )
    s.incident_post_update(
        by=member, incident=incident, status="investigating", body="We are looking into it."
    )
    print(incident.ref, flush=True)
"""

COUNT = "from incidentdesk.incidents.models import Incident; print(Incident.objects.count())"


@dataclass
class Machine:
    """One installation: its data directory, secret key and database."""

    data_dir: Path
    env: dict[str, str]

    def popen(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(INCIDENTDESK), *args],
            env={**self.env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(INCIDENTDESK), *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"incidentdesk {args[0]} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def shell(self, code: str) -> str:
        return self.run("manage", "shell", "--no-imports", "-c", code).stdout


def _server_url(name: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def machines(tmp_path) -> Iterator[dict[str, Machine]]:
    """A source and a target machine with different secret keys; on PostgreSQL, each with a
    database of its own (named after this branch of the product's tests: backup_...)."""
    names = {role: f"backup_load_{role}_{os.getpid()}" for role in ("source", "target")}
    found: dict[str, Machine] = {}
    for role, database in names.items():
        env = env_for(tmp_path / role)
        env["INCIDENTDESK_SECRET_KEY"] = f"the {role} machine's own secret key"
        env["INCIDENTDESK_REPORTS_PER_HOUR"] = "100000"
        if POSTGRES:
            env["INCIDENTDESK_DATABASE_URL"] = _server_url(database)
        found[role] = Machine(tmp_path / role, env)
    if POSTGRES:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as server:
            for database in names.values():
                server.execute(f'DROP DATABASE IF EXISTS "{database}"')
                server.execute(f'CREATE DATABASE "{database}"')
    yield found
    if POSTGRES:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as server:
            for database in names.values():
                server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _archive(path: Path) -> tuple[dict[tuple[str, Any], dict[str, Any]], dict[str, bytes]]:
    """Every record by (model, pk), its secrets decrypted with the keys the archive carries;
    and the attachments' files by name."""
    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read("data.json"))
        keys = unseal(z.read("keys.json"), PASSPHRASE)["comms"]
        attachments = {
            name.removeprefix("attachments/"): z.read(name)
            for name in z.namelist()
            if name.startswith("attachments/")
        }
    fernet = MultiFernet([Fernet(k) for k in keys])  # type: ignore[union-attr]
    records = {}
    for record in data:
        fields = record["fields"]
        for name in SEALED_FIELDS.get(record["model"], ()):
            if fields[name]:
                fields[name] = fernet.decrypt(fields[name].encode()).decode()
        records[(record["model"], record["pk"])] = fields
    return records, attachments


def _start_writers(source: Machine, stop: Path) -> list[subprocess.Popen[str]]:
    writers = [
        source.popen(
            "manage",
            "shell",
            "--no-imports",
            "-c",
            WRITER,
            LOAD_STOP=str(stop),
            LOAD_WRITER=f"w{i}",
            # each public change would render the status page's front in the writer itself
            # (a second or so here): the writers must keep writing while the backup runs
            INCIDENTDESK_STATUSPAGE_PREPARE="0",
        )
        for i in range(WRITERS)
    ]
    for writer in writers:
        # each has committed an incident of its own before the backup starts
        first = writer.stdout.readline() if writer.stdout else ""
        if not first.startswith("INC-"):
            writer.kill()
            raise AssertionError(f"a writer stopped: {writer.communicate()[1]}")
    return writers


def test_a_backup_under_write_load_restores_every_record_on_another_machine(machines, tmp_path):
    source, target = machines["source"], machines["target"]
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    source.run("init")
    source.run("demo")
    source.shell(PRODUCT)
    before = int(source.shell(COUNT))

    stop = tmp_path / "stop"
    writers = _start_writers(source, stop)
    archive = tmp_path / "backup.zip"
    try:
        backup = source.run("backup", str(archive), "--passphrase-file", str(passphrase))
    finally:
        stop.touch()
        ended = [w.communicate(timeout=600) for w in writers]
    for writer, (_, err) in zip(writers, ended, strict=True):
        assert writer.returncode == 0, err
    assert "the secrets' keys sealed with the passphrase" in backup.stdout
    after = int(source.shell(COUNT))

    records, attachments = _archive(archive)
    incidents = {pk for model, pk in records if model == "incidents.incident"}
    # taken while the writers wrote: more than before them, fewer than they wrote in all
    assert before + WRITERS <= len(incidents) < after
    for (model, _), fields in records.items():
        if model in ("incidents.timelineentry", "comms.delivery", "portal.attachment"):
            assert fields["incident"] is None or fields["incident"] in incidents

    target.run("init")
    empty = target.run("timeline", "verify", check=False)
    assert empty.returncode == 1
    assert "holds no incidents: there is nothing to verify" in empty.stderr

    restored = target.run("restore", str(archive), "--passphrase-file", str(passphrase))
    queued = [
        f for (m, _), f in records.items() if m == "comms.delivery" and f["state"] == "queued"
    ]
    assert f"Restored {archive}: {len(incidents)} incidents, {len(attachments)} attachment" in (
        restored.stdout
    )
    assert f"{len(queued)} queued deliveries are held" in restored.stdout
    assert not restored.stderr
    verified = target.run("timeline", "verify").stdout
    assert verified == f"OK: {len(incidents)} timelines intact, audit log intact.\n"

    again = tmp_path / "again.zip"
    target.run("backup", str(again), INCIDENTDESK_BACKUP_PASSPHRASE=PASSPHRASE)
    back, back_attachments = _archive(again)
    assert back_attachments == attachments

    # what a restore changes, and only that: queued deliveries wait, the audit log says so
    expected = records
    for (model, _), fields in expected.items():
        if model == "comms.delivery" and fields["state"] == "queued":
            fields.update(state="held", task_id=None, claimed_until=None)
    added = sorted(set(back) - set(expected))
    assert [back[key]["kind"] for key in added] == ["deliveries_held"]
    assert back[added[0]]["data"] == {"count": len(queued), "source": "restore"}
    for key in added:
        del back[key]
    del back[("core.chainhead", _audit_head(back))]
    del expected[("core.chainhead", _audit_head(expected))]
    assert sorted(back) == sorted(expected)
    for key, fields in expected.items():
        assert back[key] == fields, key

    channels = {f["name"]: f["url_encrypted"] for (m, _), f in back.items() if m == "comms.channel"}
    assert channels == {
        "Northwind hook": "http://127.0.0.1:9/hook?token=h00k",
        "Team chat": "json://127.0.0.1:9/chat?token=ch4t",
    }
    (own,) = [
        f for (m, _), f in back.items() if m == "comms.preference" and f["apprise_url_encrypted"]
    ]
    assert own["apprise_url_encrypted"] == "json://127.0.0.1:9/morgan?token=m0rgan"


def _audit_head(records: dict[tuple[str, Any], dict[str, Any]]) -> Any:
    (pk,) = [pk for (m, pk), f in records.items() if m == "core.chainhead" and f["name"] == "audit"]
    return pk
