"""The at-least-once contract under a crash: `incidentdesk worker` is killed with SIGKILL in
the middle of 500 deliveries and started again; every delivery arrives, and the only
duplicates are deliveries that were in flight at the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from incidentdesk.comms.services import TASK_BATCH

from .conftest import free_port

COUNT = 500
QUEUE_SCRIPT = f"""
from django.db import transaction
from incidentdesk.accounts.services import user_create
from incidentdesk.comms.services import message_queue
from incidentdesk.incidents import services as s

member = user_create(by=None, email="crash@spacewise.test", password="crash-test-pass", role="member")
incident = s.incident_report(by=member, title="Crash test")
with transaction.atomic():
    for i in range({COUNT}):
        message_queue(
            channel="email",
            recipient=f"r{{i}}@example.test",
            subject=f"Crash test {{i}}",
            body_markdown="One of many.",
            key=f"crash-{{i}}",
            incident=incident,
        )
"""
# a fan-out: the deliveries go to worker tasks of TASK_BATCH each
QUEUE_MANY_SCRIPT = f"""
from django.db import transaction
from incidentdesk.accounts.services import user_create
from incidentdesk.comms.models import Delivery
from incidentdesk.comms.services import deliveries_queue_many
from incidentdesk.incidents import services as s

member = user_create(by=None, email="crash@spacewise.test", password="crash-test-pass", role="member")
incident = s.incident_report(by=member, title="Crash test")
with transaction.atomic():
    deliveries_queue_many([
        Delivery(
            key=f"crash-{{i}}",
            incident=incident,
            channel="email",
            recipient=f"r{{i}}@example.test",
            subject=f"Crash test {{i}}",
            body_markdown="One of many.",
        )
        for i in range({COUNT})
    ])
"""
STATE_SCRIPT = """
from incidentdesk.comms.models import Delivery
from incidentdesk.incidents.models import TimelineEntry
print("STATE", Delivery.objects.filter(state="sent").count(), Delivery.objects.exclude(state="sent").count(),
      TimelineEntry.objects.filter(kind="delivered").count())
"""


class SlowInbox:
    """Counts deliveries by their X-IncidentDesk-Delivery id; a short pause per message keeps
    the worker busy sending, so the kill lands mid-delivery."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.005)
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.startswith("X-IncidentDesk-Delivery:"):
                with self.lock:
                    self.ids[line.split(":", 1)[1].strip()] += 1
                break
        return "250 OK"

    def seen(self) -> tuple[int, int]:
        with self.lock:
            return len(self.ids), sum(self.ids.values())


def _env(data_dir: Path, smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        INCIDENTDESK_DATA_DIR=str(data_dir),
        INCIDENTDESK_DATABASE_URL="",
        INCIDENTDESK_SECRET_KEY="crash-test-secret-key-crash-test-secret-key",
        INCIDENTDESK_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        INCIDENTDESK_DELIVERY_LEASE="3",
    )
    return env


def _cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "incidentdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _state(env: dict[str, str]) -> tuple[int, int, int]:
    out = _cli("manage", "shell", "-c", STATE_SCRIPT, env=env)
    line = next(x for x in out.splitlines() if x.startswith("STATE "))
    sent, unsent, entries = (int(n) for n in line.split()[1:])
    return sent, unsent, entries


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "incidentdesk.cli", "worker", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("script", "allowed"),
    [
        # one worker sends one message at a time: at most the one in flight at the kill repeats
        (QUEUE_SCRIPT, 1),
        # a batch records its outcomes together: at most the batch's sent messages repeat
        (QUEUE_MANY_SCRIPT, TASK_BATCH),
    ],
    ids=["one-by-one", "fan-out-batches"],
)
def test_kill_9_mid_delivery_loses_nothing(tmp_path, script, allowed):
    inbox = SlowInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = _env(tmp_path, port)
    worker = None
    try:
        _cli("init", env=env)
        _cli("manage", "shell", "-c", script, env=env)

        worker = _worker(env)
        assert _wait(lambda: inbox.seen()[0] >= COUNT // 3, timeout=120), "the worker sent nothing"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        at_kill, _ = inbox.seen()
        assert at_kill < COUNT, "the kill came too late to test anything"

        worker = _worker(env)
        assert _wait(lambda: inbox.seen()[0] >= COUNT, timeout=180), (
            f"only {inbox.seen()[0]} of {COUNT} deliveries arrived after the restart"
        )
        assert _wait(lambda: _state(env)[0] == COUNT, timeout=60), "deliveries not recorded as sent"
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)
        controller.stop()

    distinct, total = inbox.seen()
    duplicates = total - distinct
    assert distinct == COUNT, f"{COUNT - distinct} deliveries lost (kill after {at_kill})"
    assert duplicates <= allowed, f"{duplicates} duplicates (kill after {at_kill})"
    sent, unsent, entries = _state(env)
    assert (sent, unsent) == (COUNT, 0)
    assert entries == COUNT
