"""The fan-out at scale-out: PostgreSQL, two web processes, one and then two task workers.

Run through `bench/fanout.py --pg URL [--quick] [N]` (N recipients, default 10,000; `--quick`:
400). A database of its own is created on the server named by URL and dropped after.

Two public updates go to an organisation of N stakeholders, each through the real API of
`incidentdesk serve --no-worker --processes 2`; the first is sent by one
`incidentdesk worker`, the second by two. Printed: deliveries per second for each and their
ratio (goal at least 1.5), every recipient's count of messages (goal: exactly one per
update); and, during the second fan-out, p50 and p99 of `GET /healthz` and of an incident
in the API, and of the time from a new report's 201 answer to its mail to the manager being
accepted by the SMTP server (40 reports spread over the fan-out; goal p99 under 1 s).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "incidentdesk.cli"]
MANAGER = "manager@spacewise.test"
REPORTS = 40

SETUP = """
from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.accounts.services import user_create
from incidentdesk.incidents import services as s

org = StakeholderOrg.objects.create(name="Everyone Retail")
reporter = user_create(by=None, email="reporter@retail.test", password="bench-pass-123",
                       role="stakeholder", org_name=org.name)
user_create(by=None, email="manager@spacewise.test", password="bench-pass-123", role="manager")
member = user_create(by=None, email="member@spacewise.test", password="bench-pass-123",
                     role="member")
contacts = [User(email=f"contact{i}@stores.test", role=Role.STAKEHOLDER, organisation=org)
            for i in range(N)]
for user in contacts:
    user.set_unusable_password()
User.objects.bulk_create(contacts, batch_size=1000)
incident = s.incident_report(by=reporter, title="Tills cannot sync in every store")
s.incident_categorize(by=member, incident=incident, type="functionality", severity="P3",
                      impact="few", reason="benchmark: no categorization notice")
"""


class Sink:
    """Counts messages per (recipient, incident) and keeps when each arrived."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.arrived: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        now = time.monotonic()
        ref = ""
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.startswith("X-IncidentDesk-Incident:"):
                ref = line.split(":", 1)[1].strip()
            if not line:
                break
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count[rcpt.lower()] += 1
                self.arrived.setdefault((rcpt.lower(), ref), now)
        return "250 OK"

    def contacts(self) -> tuple[int, int]:
        with self.lock:
            hits = [n for rcpt, n in self.count.items() if rcpt.endswith("@stores.test")]
        return len(hits), sum(hits)


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [*CLI, *args], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout


def call(base: str, method: str, path: str, token: str, body: object = None) -> tuple[int, dict]:
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
        return error.code, {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def fan_out(env, base, token, sink, workers, status, n, during=None):  # type: ignore[no-untyped-def]
    """Post an update, run `workers` workers until every contact has one more message."""
    target = sink.contacts()[1] + n
    start = time.monotonic()
    assert call(base, "POST", "/api/v1/incidents/INC-1/updates", token,
                {"status": status, "body": "We are restoring sync store by store."})[0] == 201  # fmt: skip
    procs = [
        subprocess.Popen(
            [*CLI, "worker", "--interval", "0.1"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    side = threading.Thread(target=during, daemon=True) if during else None
    if side:
        side.start()
    try:
        while sink.contacts()[1] < target:
            if time.monotonic() - start > 3600:
                raise SystemExit("the fan-out did not finish within an hour")
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        if side:
            side.join()
        time.sleep(1)  # a repeat would arrive about now
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=120)
    return n / elapsed


def main(pg_url: str, n: int) -> None:
    import psycopg
    from aiosmtpd.controller import Controller

    parts = urllib.parse.urlsplit(pg_url)
    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INCIDENTDESK_DATA_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / name),
        "INCIDENTDESK_DATABASE_URL": parts._replace(path=f"/{name}").geturl(),
        "INCIDENTDESK_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "INCIDENTDESK_BASE_URL": base,
    }
    server = None
    try:
        cli(env, "init")
        cli(env, "manage", "shell", "-c", f"N = {n}\n{SETUP}")
        tokens = {
            who: cli(env, "token", "create", "--email", email).split()[-1]
            for who, email in [("member", "member@spacewise.test"),
                               ("reports", "member@spacewise.test")]
        }  # fmt: skip
        cli(env, "worker", "--batch")  # the set-up's own notices
        server = subprocess.Popen(
            [*CLI, "serve", "--no-worker", "--processes", "2", "--port", str(port)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(base + "/healthz")

        one = fan_out(env, base, tokens["member"], sink, 1, "identified", n)
        probes: dict[str, list[float]] = {"healthz": [], "incident": []}
        notices: list[float] = []
        failures = Counter[str]()
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                for label, path, token in [("healthz", "/healthz", ""),
                                           ("incident", "/api/v1/incidents/INC-1", tokens["member"])]:  # fmt: skip
                    t = time.monotonic()
                    status = call(base, "GET", path, token)[0]
                    probes[label].append(time.monotonic() - t)
                    if status != 200:
                        failures[label] += 1
                time.sleep(0.05)

        def report() -> None:
            # spread over about two thirds of the expected fan-out, at one worker's pace x 2
            gap = max(0.05, (n / (one * 2)) * 0.66 / REPORTS)
            for i in range(REPORTS):
                status, body = call(base, "POST", "/api/v1/incidents", tokens["reports"],
                                    {"title": f"Card terminals offline in store {i}"})  # fmt: skip
                answered = time.monotonic()
                if status != 201:
                    failures["report"] += 1
                    continue
                deadline = answered + 60
                while (MANAGER, body["ref"]) not in sink.arrived and time.monotonic() < deadline:
                    time.sleep(0.005)
                arrived = sink.arrived.get((MANAGER, body["ref"]))
                notices.append((arrived - answered) if arrived else float("inf"))
                time.sleep(gap)
            stop.set()

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        two = fan_out(env, base, tokens["member"], sink, 2, "monitoring", n, during=report)
        stop.set()
        prober.join()
        distinct, total = sink.contacts()
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=120)
        controller.stop()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    print(f"recipients: {n} a fan-out (PostgreSQL, 2 web processes)")
    print(f"1 worker: {one:.0f} deliveries/s")
    print(f"2 workers: {two:.0f} deliveries/s")
    print(f"ratio (2 workers / 1): {two / one:.2f} (goal >= 1.5)")
    print(f"messages per contact: {total} for {distinct} contacts and 2 updates "
          f"({total - 2 * distinct} repeats, {2 * n - total} missing)")  # fmt: skip
    for label, values in probes.items():
        print(f"during the fan-out, GET {label}: {len(values)} requests, "
              f"p50 {pct(values, 0.5) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms, "
              f"{failures[label]} not 200")  # fmt: skip
    print(f"a new report's mail to the manager, from its 201 to the SMTP server: "
          f"{len(notices)} reports, p50 {pct(notices, 0.5):.2f} s, p99 {pct(notices, 0.99):.2f} s "
          f"(goal p99 < 1 s), {failures['report']} reports refused")  # fmt: skip
