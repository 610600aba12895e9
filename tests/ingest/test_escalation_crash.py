"""A kill -9 of `incidentdesk worker` in the middle of escalations: 40 alerts, each paging the
person on call and then the manager, through a real SMTP server. After a restart every page
has arrived, at most the one in flight at the kill twice, and each step is on its incident's
timeline exactly once. Several processes share the database: PostgreSQL only."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from incidentdesk.policy import loader
from tests.comms.conftest import free_port
from tests.core.test_faults import ON_POSTGRES, _wait, database_url  # noqa: F401

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="several processes share the database: the PostgreSQL run"
)

ALERTS = 40
PAGES = ALERTS * 2

SETUP = f"""
import datetime as dt
from incidentdesk.accounts.services import user_create
from incidentdesk.ingest import services

user_create(by=None, email="morgan@spacewise.test", password="crash-test-pass", role="manager")
alex = user_create(by=None, email="alex@spacewise.test", password="crash-test-pass", role="member")
primary = services.schedule_create(by=None, name="Primary", time_zone="UTC")
services.schedule_add_layer(
    by=None, schedule=primary, name="All day", rotation="daily", handoff_time=dt.time(0, 0),
    starts_on=dt.date(2020, 1, 1), members=[alex.email],
)
_, prometheus = services.integration_create(by=None, name="Prometheus")
for i in range({ALERTS}):
    services.alert_receive(
        integration=prometheus,
        event=services.AlertEvent(
            action="trigger", dedup_key=f"alert-{{i}}", summary=f"Alert {{i}}", severity="critical"
        ),
    )
"""
STATE = """
from collections import Counter
from incidentdesk.incidents.models import TimelineEntry
steps = Counter(
    (e.incident_id, e.data["level"]) for e in TimelineEntry.objects.filter(kind="paged")
)
print("STATE", len(steps), max(steps.values(), default=0))
"""


class PageInbox:
    """Counts pages (not the communication plan's other mail) by their delivery id."""

    def __init__(self) -> None:
        self.pages: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.03)
        text = envelope.content.decode(errors="replace")
        headers = dict(
            line.split(":", 1) for line in text.split("\r\n\r\n", 1)[0].splitlines() if ":" in line
        )
        if "Page:" in headers.get("Subject", ""):
            with self.lock:
                self.pages[headers["X-IncidentDesk-Delivery"].strip()] += 1
        return "250 OK"

    def seen(self) -> tuple[int, int]:
        with self.lock:
            return len(self.pages), sum(self.pages.values())


def _policy(tmp_path: Path) -> Path:
    """The default policy with both levels paged at once, and no storm bound in the way."""
    text = loader.DEFAULT_POLICY_PATH.read_text()
    text = text.replace('{ managers = true, delay = "5m" }', "{ managers = true }")
    text = text.replace("incidents_per_minute = 5", "incidents_per_minute = 1000")
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_kill_9_mid_escalation_loses_no_page(tmp_path, database_url):  # noqa: F811
    inbox = PageInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "INCIDENTDESK_DATA_DIR": str(tmp_path),
        "INCIDENTDESK_DATABASE_URL": database_url,
        "INCIDENTDESK_SECRET_KEY": "crash-test-secret-key-crash-test-secret-key",
        "INCIDENTDESK_EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "INCIDENTDESK_POLICY": str(_policy(tmp_path)),
        "INCIDENTDESK_DELIVERY_LEASE": "3",
    }

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "incidentdesk.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "incidentdesk.cli", "worker", "--interval", "0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def state() -> tuple[int, int]:
        out = cli("manage", "shell", "-c", STATE)
        line = next(x for x in out.splitlines() if x.startswith("STATE "))
        steps, most = (int(n) for n in line.split()[1:])
        return steps, most

    running = None
    try:
        cli("init")
        cli("manage", "shell", "-c", SETUP)
        running = worker()
        assert _wait(lambda: inbox.seen()[0] >= PAGES // 4, timeout=120), "no pages were sent"
        os.kill(running.pid, signal.SIGKILL)
        running.wait()
        at_kill, _ = inbox.seen()
        assert at_kill < PAGES, "the kill came too late to test anything"

        running = worker()
        assert _wait(lambda: inbox.seen()[0] >= PAGES, timeout=240), (
            f"only {inbox.seen()[0]} of {PAGES} pages arrived after the restart"
        )
        steps, most = state()
    finally:
        if running is not None and running.poll() is None:
            running.send_signal(signal.SIGTERM)
            running.wait(timeout=20)
        controller.stop()

    distinct, total = inbox.seen()
    assert distinct == PAGES, f"{PAGES - distinct} pages lost (kill after {at_kill})"
    assert total - distinct <= 1, f"{total - distinct} pages twice (kill after {at_kill})"
    assert (steps, most) == (PAGES, 1), "an escalation step is missing or written twice"
