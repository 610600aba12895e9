"""Shared parts of the tests with several real processes and of `bench/fanout_scale.py` (the
one place for both): a mailbox that counts what each recipient received and when, the scripts
that set up an organisation to fan out to, and starting and stopping `incidentdesk serve` and
`incidentdesk worker`. It imports nothing of Django or IncidentDesk, so a bench that only
drives the product from outside imports it as it is (`from tests.processes.support import
...`, the repository's root on sys.path)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

CLI = [sys.executable, "-m", "incidentdesk.cli"]


class CountingInbox:
    """Counts messages per recipient and remembers when each one arrived (time.monotonic);
    `delay` seconds a message keep a fan-out going long enough to act in its middle."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = {}
        # messages per (incident reference, recipient), from the X-IncidentDesk-Incident header
        self.per_incident: Counter[tuple[str, str]] = Counter()
        # when the first of them arrived
        self.first: dict[tuple[str, str], float] = {}
        # messages per recipient's domain: a fan-out's progress read without a walk over all
        self.per_domain: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        now = time.monotonic()
        ref = ""
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.startswith("X-IncidentDesk-Incident:"):
                ref = line.split(":", 1)[1].strip()
            if not line:
                break
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt.lower()] += 1
                self.arrivals.setdefault(rcpt.lower(), []).append(now)
                self.per_incident[(ref, rcpt.lower())] += 1
                self.first.setdefault((ref, rcpt.lower()), now)
                self.per_domain["@" + rcpt.lower().rsplit("@", 1)[-1]] += 1
        return "250 OK"

    def count(self, suffix: str = "") -> tuple[int, int]:
        """(distinct recipients, messages) whose address ends with `suffix`."""
        with self.lock:
            hits = [n for rcpt, n in self.received.items() if rcpt.endswith(suffix)]
        return len(hits), sum(hits)

    def messages_to(self, domain: str) -> int:
        """Messages to recipients at `domain` ("@stores.test"), however many they are."""
        return self.per_domain[domain]

    def repeats(self) -> dict[str, int]:
        with self.lock:
            return {rcpt: n for rcpt, n in self.received.items() if n > 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(delay: float = 0.0) -> Iterator[tuple[CountingInbox, int]]:
    inbox = CountingInbox(delay)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def wait_for(condition, timeout: float, step: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1):
            return True
    except OSError:
        return False


def pct(values: list[float], p: float) -> float:
    """The `p` quantile (0.5, 0.99) of `values`; NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def organisation_script(contacts: int) -> str:
    """A manager, a member, and an organisation of `contacts` stakeholders
    (contact<i>@stores.test) affected by INC-1, which the member has categorized."""
    return f"""
from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.accounts.services import user_create
from incidentdesk.incidents import services as s
from incidentdesk.policy.services import policy_sync_from_file

policy_sync_from_file()
org = StakeholderOrg.objects.create(name="Everyone Retail")
reporter = user_create(by=None, email="reporter@retail.test", password="lanes-pass-123",
                       role="stakeholder", org_name=org.name)
user_create(by=None, email="manager@spacewise.test", password="lanes-pass-123", role="manager")
member = user_create(by=None, email="member@spacewise.test", password="lanes-pass-123",
                     role="member")
contacts = [User(email=f"contact{{i}}@stores.test", role=Role.STAKEHOLDER, organisation=org)
            for i in range({contacts})]
for user in contacts:
    user.set_unusable_password()
User.objects.bulk_create(contacts, batch_size=1000)
incident = s.incident_report(by=reporter, title="Tills cannot sync in every store")
s.incident_categorize(by=member, incident=incident, type="functionality", severity="P3",
                      impact="few", reason="a quiet start")
"""


POST_UPDATE_SCRIPT = """
from incidentdesk.accounts.models import User
from incidentdesk.incidents import services as s

member = User.objects.get(email="member@spacewise.test")
s.incident_post_update(by=member, incident="INC-1", status="identified",
                       body="We have identified the cause and are restoring sync.")
"""

REPORT_SCRIPT = """
from incidentdesk.accounts.models import User
from incidentdesk.incidents import services as s

reporter = User.objects.get(email="reporter@retail.test")
s.incident_report(by=reporter, title="The card terminals in every store are offline")
"""


def start_serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`incidentdesk serve ARGS` on a free port, in a process group of its own, as a service
    manager starts it; returns it and its base URL once /healthz answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *args],
        env={**env, "INCIDENTDESK_BASE_URL": base},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if not wait_for(lambda: answers(base), timeout=120, step=0.2):
        os.killpg(server.pid, signal.SIGKILL)
        raise AssertionError("serve did not come up")
    return server, base


def stop_serve(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`incidentdesk worker` in a session of its own, as a service manager starts each worker
    unit (the kernel then shares the processors between the workers, not within one group)."""
    return subprocess.Popen(
        [*CLI, "worker", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=90)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of `pid`."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True)
    found = []
    for line in out.stdout.splitlines():
        child, parent, command = line.split(None, 2)
        if int(parent) == pid:
            found.append((int(child), command))
    return found


def api(
    base: str, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """(status, JSON answer); (0, {}) when the connection failed."""
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException):
            return error.code, {}  # its process was killed while answering
    except (OSError, ValueError, http.client.HTTPException):
        return 0, {}
