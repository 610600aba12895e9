"""The real `incidentdesk` command in a subprocess, on a fresh SQLite data dir each time."""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .helpers import (  # noqa: F401
    INCIDENTDESK,
    env_for,
    fresh_copy,
    initialised_template,
    run,
    shell,
    sqlite_only,
)

pytestmark = sqlite_only

DB = "incidentdesk.sqlite3"


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple]:
    with sqlite3.connect(data_dir / DB) as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture
def data_dir(initialised_template, tmp_path) -> Path:  # noqa: F811
    return fresh_copy(initialised_template, tmp_path / "data")


@pytest.fixture(scope="module")
def demo_template(initialised_template, tmp_path_factory) -> Path:  # noqa: F811
    data_dir = fresh_copy(initialised_template, tmp_path_factory.mktemp("demo") / "data")
    done = run(data_dir, "demo")
    assert done.stdout.startswith("Demo data loaded.")
    return data_dir


@pytest.fixture
def demo_dir(demo_template, tmp_path) -> Path:
    return fresh_copy(demo_template, tmp_path / "demo")


def test_help_lists_the_commands(tmp_path):
    out = run(tmp_path, "--help").stdout
    for name in ("init", "serve", "worker", "createuser", "token", "demo", "policy", "timeline"):
        assert f"\n  {name} " in out
    done = run(tmp_path, "frobnicate", check=False)
    assert done.returncode == 2
    assert "unknown command 'frobnicate'" in done.stderr


def test_init_is_safe_to_run_again(data_dir):
    policies = query(data_dir, "SELECT id, content_hash FROM policy_policyversion")
    done = run(data_dir, "init")
    assert done.stdout.startswith("Database ready; active policy v1 (")
    assert query(data_dir, "SELECT id, content_hash FROM policy_policyversion") == policies
    assert len(policies) == 1


def test_createuser_refusals_and_a_token_stored_as_a_hash(data_dir):
    done = run(
        data_dir,
        *("createuser", "--email", "Nora@Northwind.test", "--password", "correct-horse-9"),
        *("--role", "stakeholder", "--org", "Northwind"),
    )
    assert done.stdout.strip() == "Created stakeholder nora@northwind.test at Northwind."
    assert query(data_dir, "SELECT name FROM accounts_stakeholderorg") == [("Northwind",)]

    bad_role = run(
        data_dir,
        *("createuser", "--email", "a@b.test", "--password", "correct-horse-9", "--role", "boss"),
        check=False,
    )
    assert bad_role.returncode == 1
    assert "role: Unknown role 'boss' (known: admin, manager, member, stakeholder)." in (
        bad_role.stderr
    )
    no_org = run(
        data_dir,
        *("createuser", "--email", "c@d.test", "--password", "x", "--role", "stakeholder"),
        check=False,
    )
    assert no_org.returncode == 1
    assert "The account was not created." in no_org.stderr
    assert "org: A stakeholder belongs to an organisation: give --org." in no_org.stderr
    assert "password: This password is too short." in no_org.stderr
    assert query(data_dir, "SELECT email FROM accounts_user") == [("nora@northwind.test",)]

    done = run(data_dir, "token", "create", "--email", "nora@northwind.test")
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("idk_") and len(token) > 40
    assert "not shown again" in done.stderr
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert query(data_dir, "SELECT digest, prefix FROM accounts_apitoken") == [(digest, token[:12])]
    for path in data_dir.glob(f"{DB}*"):
        assert token.encode() not in path.read_bytes()


def test_demo_twice_adds_nothing_the_second_time(demo_dir):
    counts = (
        "SELECT (SELECT count(*) FROM accounts_user), (SELECT count(*) FROM incidents_incident)"
    )
    before = query(demo_dir, counts)
    users, incidents = before[0]
    assert users >= 7 and incidents >= 4
    done = run(demo_dir, "demo")
    assert done.stdout.startswith("Demo data already present; nothing added.")
    assert "manager@spacewise.example" in done.stdout
    assert query(demo_dir, counts) == before
    statuses = {s for (s,) in query(demo_dir, "SELECT status FROM incidents_incident")}
    assert len(statuses) >= 4


def test_policy_show_and_check(data_dir, tmp_path):
    (content_hash,) = query(data_dir, "SELECT content_hash FROM policy_policyversion")[0]
    out = run(data_dir, "policy", "show").stdout
    assert out.startswith(f"# active policy v1, sha256 {content_hash}\n")
    assert '[severities.P1.sla]\nacknowledge = "15m"' in out
    copy = tmp_path / "policy.toml"
    copy.write_text(out.split("\n", 1)[1])
    done = run(data_dir, "policy", "check", str(copy))
    assert done.stdout.strip() == (
        f"{copy}: OK (4 types, 3 severities, 4 impact levels, 5 guidelines)"
    )


def test_timeline_verify_finds_a_hand_edited_row(demo_dir):
    done = run(demo_dir, "timeline", "verify")
    assert done.stdout.strip().endswith("timelines intact, audit log intact.")
    (incident_id,) = query(
        demo_dir,
        "SELECT incident_id FROM incidents_timelineentry "
        "GROUP BY incident_id HAVING max(seq) >= 3 ORDER BY incident_id LIMIT 1",
    )[0]
    query(
        demo_dir,
        "UPDATE incidents_timelineentry SET actor_label = 'someone@else.test' "
        "WHERE incident_id = ? AND seq = 2",
        incident_id,
    )
    done = run(demo_dir, "timeline", "verify", check=False)
    assert done.returncode == 1
    assert (
        f"INC-{incident_id}: timeline entry 2 is broken: "
        "content does not match its hash (edited after it was written)."
    ) in done.stderr


def test_backup_and_restore_into_a_new_data_dir(demo_dir, tmp_path):
    backup = tmp_path / "backup.zip"
    run(demo_dir, "backup", str(backup))
    restored = tmp_path / "restored"
    done = run(restored, "restore", str(backup))
    assert "Restored" in done.stdout
    for table in ("incidents_incident", "incidents_timelineentry", "accounts_user"):
        sql = f"SELECT * FROM {table} ORDER BY id"
        assert query(restored, sql) == query(demo_dir, sql)
    assert run(restored, "timeline", "verify").stdout.strip().endswith("audit log intact.")
    # the public front shows the restored page: the demo's incidents, at the restored version
    manifest = json.loads((restored / "public" / "manifest.json").read_text())
    ((version, token),) = query(restored, "SELECT version, token FROM statuspage_pagestate")
    assert manifest["version"] == f"{version}{token}"
    summary = json.loads((restored / "public" / "api" / "v2" / "summary.json").read_text())
    original = json.loads((demo_dir / "public" / "api" / "v2" / "summary.json").read_text())
    assert [c["name"] for c in summary["components"]] == [c["name"] for c in original["components"]]


# -- serving ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, token: str | None = None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


def test_serve_runs_the_whole_flow_over_http(demo_dir):
    tokens = {
        "member": run(demo_dir, "token", "create", "--email", "alex@spacewise.example")
        .stdout.strip()
        .splitlines()[-1]
    }
    made = shell(
        demo_dir,
        "from incidentdesk.accounts.models import User\n"
        "from incidentdesk.accounts.services import token_create\n"
        "for email in ('ops@northwind.example', 'manager@spacewise.example'):\n"
        "    print(token_create(by=None, user=User.objects.get(email=email))[0])\n",
    ).split()
    tokens["stakeholder"], tokens["manager"] = made
    port = free_port()
    server = subprocess.Popen(
        [str(INCIDENTDESK), "serve", "--port", str(port), "--no-worker", "--workers", "1"],
        env=env_for(demo_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        api = Api(base)
        assert api("GET", "/healthz") == (200, {"status": "ok"})
        status, ready = api("GET", "/readyz")
        # served with --no-worker: the demo's deliveries wait, and once they have waited a
        # minute (a slow machine) readiness says so, while the web still serves
        assert status == 200
        assert ready["status"] == "ok" or ready["detail"].startswith("tasks are waiting"), ready
        s, m, mg = tokens["stakeholder"], tokens["member"], tokens["manager"]

        status, body = api("POST", "/api/v1/incidents", s, {"title": "Tills cannot sync"})
        assert status == 201, body
        ref = body["ref"]
        assert (body["status"], body["organisation"]) == ("reported", "Northwind Retail")
        assert api("POST", f"/api/v1/incidents/{ref}/acknowledge", m)[0] == 200
        status, body = api(
            "POST",
            f"/api/v1/incidents/{ref}/categorize",
            m,
            {"type": "functionality", "severity": "P3", "impact": "few"},
        )
        assert status == 200, body
        assert body["incident"]["status"] == "triaged"
        status, body = api(
            "POST", f"/api/v1/incidents/{ref}/status", m, {"status": "investigating"}
        )
        assert (status, body["status"]) == (200, "investigating")
        status, body = api(
            "POST", f"/api/v1/incidents/{ref}/resolve", m, {"summary": "Restarted the sync"}
        )
        assert (status, body["status"]) == (200, "resolved")
        assert api("POST", f"/api/v1/incidents/{ref}/close", m)[0] == 403
        status, body = api("POST", f"/api/v1/incidents/{ref}/close", mg)
        assert (status, body["status"]) == (200, "closed")
        status, body = api("GET", f"/api/v1/incidents/{ref}/timeline", m)
        assert [e["kind"] for e in body["items"]] == [
            "reported",
            "acknowledged",
            "categorized",
            "status_changed",
            "resolved",
            "closed",
        ]
        assert api("GET", "/api/v1/incidents")[0] == 401
        status, body = api("GET", "/api/v1/openapi.json")
        assert status == 200 and "/api/v1/incidents/{ref}/categorize" in body["paths"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert query(demo_dir, "SELECT status FROM incidents_incident WHERE id = ?", int(ref[4:])) == [
        ("closed",)
    ]


def test_secret_key_rotation_by_environment(data_dir):
    def incidentdesk(key: str, *args: str, fallbacks: str = "") -> subprocess.CompletedProcess:
        env = env_for(data_dir)
        env.update(INCIDENTDESK_SECRET_KEY=key, INCIDENTDESK_SECRET_KEY_FALLBACKS=fallbacks)
        return subprocess.run(
            [str(INCIDENTDESK), *args], env=env, capture_output=True, text=True, timeout=120
        )

    created = incidentdesk(
        "old-key",
        "manage",
        "shell",
        "--no-imports",
        "-c",
        "from incidentdesk.accounts.services import user_create\n"
        "from incidentdesk.comms.services import channel_create\n"
        "admin = user_create(by=None, email='ada@example.test', password='p' * 12, role='admin')\n"
        "channel_create(by=admin, name='Chat', kind='apprise', url='json://127.0.0.1:9/?t=1',"
        " audiences=['team'])",
    )
    assert created.returncode == 0, created.stderr
    assert incidentdesk("new-key", "secrets", "check").returncode == 1
    done = incidentdesk("new-key", "secrets", "reencrypt", fallbacks="old-key")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Re-encrypted the stored secrets under the current key")
    done = incidentdesk("new-key", "secrets", "check")
    assert done.stdout == "Every stored secret decrypts: 1 records hold secrets.\n", done.stderr
    done = incidentdesk("old-key", "secrets", "check")
    assert done.returncode == 1 and "channels 'Chat'" in done.stderr
