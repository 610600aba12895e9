"""Alert events accepted per second, end to end, against a plain POST to /healthz in the
same run as the baseline.

Starts `incidentdesk serve --no-worker` on a fresh SQLite data dir, creates an integration
with the real command, then posts N PagerDuty trigger events to /v2/enqueue from THREADS
keep-alive connections: KEYS distinct dedup keys, the rest repeats (what a flapping check or
an Alertmanager group re-notifying sends). End to end means every event answered 202 and
counted on its alert, on the incident it opened or joined; the bench checks that none was
lost.

Then the time from a trigger to the on-call person's page accepted by an SMTP server (an
aiosmtpd server in this process): PAGES alerts, each opening an incident, posted one at a
time a quarter second apart while `incidentdesk worker` runs with its default polling; the
figure is from sending the POST to the page's DATA accepted, p50 and p99.
The server runs PROCESSES web processes of WEB_THREADS threads each (`serve --processes
--threads`); 2 and 4 gave the best alert rate on this 2-core machine (docs/performance.md).
Run: .venv/bin/python bench/ingest.py [N] [THREADS] [KEYS] [PAGES] [PROCESSES] [WEB_THREADS]
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
KEYS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
PAGES = int(sys.argv[4]) if len(sys.argv) > 4 else 50
PROCESSES = int(sys.argv[5]) if len(sys.argv) > 5 else 2
WEB_THREADS = int(sys.argv[6]) if len(sys.argv) > 6 else 4
ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).with_name("incidentdesk"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer at {url}")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared bytes and reads the answer's
    status: the least client work per request (http.client's parsing cost the bench as much
    CPU as a server answer, on the same 2 cores), so the figures are the server's."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def post(self, request: bytes) -> int:
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                    self.buffer = b""
                self.sock.sendall(request)
                return self._answer()
            except OSError:
                # the server closed the kept-alive connection: open another, send again
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _answer(self) -> int:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        fields = {k.strip().lower(): v.strip().lower() for k, v in fields.items()}
        length = int(fields.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        self.buffer = self.buffer[length:]
        if fields.get("connection") == "close":
            self.close()
        return status

    def _more(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("closed by the server")
        self.buffer += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def group_cpu(group: int) -> float:
    """CPU seconds (user + system) used so far by the processes of a process group: the
    server's web processes. What a request costs the server, whatever else the machine runs."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; then utime, stime at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def prepared(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def blast(port: int, path: str, bodies: list[bytes]) -> tuple[float, dict[int, int]]:
    """Post every body from THREADS keep-alive connections; (seconds, count per status)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    requests = [prepared(path, body) for body in bodies]
    chunks = [requests[i::THREADS] for i in range(THREADS)]

    def worker(chunk: list[bytes]) -> None:
        conn = Connection(port)
        seen: dict[int, int] = {}
        for request in chunk:
            status = conn.post(request)
            seen[status] = seen.get(status, 0) + 1
        conn.close()
        with lock:
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, statuses


class Pages:
    """The SMTP server's side: when each page arrived, by the alert number in its subject."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        now = time.perf_counter()
        head = envelope.content.decode(errors="replace").split("\r\n\r\n", 1)[0]
        found = re.search(r"^Subject: .*Page: Latency (\d+)\r?$", head, re.MULTILINE)
        if found:
            with self.lock:
                self.at.setdefault(int(found.group(1)), now)
        return "250 OK"


SETUP = """
import datetime as dt
from incidentdesk.accounts.services import user_create
from incidentdesk.ingest import services
sam = user_create(by=None, email="sam@bench.test", password="bench-pass-bench", role="member")
primary = services.schedule_create(by=None, name="Primary", time_zone="UTC")
services.schedule_add_layer(
    by=None, schedule=primary, name="All day", rotation="daily", handoff_time=dt.time(0, 0),
    starts_on=dt.date(2020, 1, 1), members=[sam.email],
)
"""


def waiting_tasks(database: Path) -> int:
    """Tasks due now and not done, plus one while no worker has reported in (django-tasks
    stores "no run_after" as the year 9999)."""
    with sqlite3.connect(database) as db:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        ready = db.execute(
            "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult"
            " WHERE status IN ('READY', 'RUNNING') AND (run_after <= ? OR run_after >= '9999')",
            [now],
        ).fetchone()[0]
        beats = db.execute("SELECT COUNT(*) FROM core_workerheartbeat").fetchone()[0]
    return int(ready) + (0 if beats else 1)


def page_latency(port: int, key: str, env: dict[str, str], pages: Pages) -> list[float]:
    """Seconds from each trigger's POST to its page accepted by the SMTP server."""
    subprocess.run([*CLI, "manage", "shell", "-c", SETUP], env=env, check=True, cwd=ROOT)
    worker = subprocess.Popen(
        [*CLI, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True
    )
    sent: dict[int, float] = {}
    try:
        # the worker's start, and the first phase's queued work: measure a worker at rest
        database = Path(env["INCIDENTDESK_DATA_DIR"]) / "incidentdesk.sqlite3"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and waiting_tasks(database):
            time.sleep(0.2)
        time.sleep(1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(PAGES):
            body = {
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": f"latency-{i}",
                "payload": {"summary": f"Latency {i}", "source": "bench", "severity": "critical"},
            }
            sent[i] = time.perf_counter()
            conn.request(
                "POST",
                "/v2/enqueue",
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            conn.getresponse().read()
            time.sleep(0.25)
        deadline = time.monotonic() + 120
        while len(pages.at) < PAGES and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    if len(pages.at) < PAGES:
        raise SystemExit(f"only {len(pages.at)} of {PAGES} pages arrived")
    return sorted(pages.at[i] - sent[i] for i in range(PAGES))


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    data = tempfile.mkdtemp(prefix="bench-ingest-")
    pages = Pages()
    smtp_port = free_port()
    controller = Controller(pages, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    policy = Path(data) / "policy.toml"
    # every latency alert opens its own incident: no storm bound in the way
    policy.write_text(
        (ROOT / "src/incidentdesk/policy/default_policy.toml")
        .read_text()
        .replace("incidents_per_minute = 5", "incidents_per_minute = 1000")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    env.update(
        INCIDENTDESK_DATA_DIR=data,
        INCIDENTDESK_SECRET_KEY="bench-ingest-" * 4,
        INCIDENTDESK_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        INCIDENTDESK_POLICY=str(policy),
    )
    subprocess.run([*CLI, "init"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    key = (
        subprocess.run(
            [*CLI, "integration", "create", "Bench"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--no-worker",
            "--processes",
            str(PROCESSES),
            "--threads",
            str(WEB_THREADS),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        # its log of every request, kept beside the data rather than on the bench's output
        stderr=(Path(data) / "serve.log").open("w"),
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        events = [
            json.dumps(
                {
                    "routing_key": key,
                    "event_action": "trigger",
                    "dedup_key": f"check-{i % KEYS}",
                    "payload": {
                        "summary": f"Check {i % KEYS} failing",
                        "source": f"host-{i % KEYS}.example.com",
                        "severity": "critical",
                    },
                }
            ).encode()
            for i in range(N)
        ]
        cpu = [group_cpu(server.pid)]
        plain_s, plain = blast(port, "/healthz", [b"{}"] * N)
        cpu.append(group_cpu(server.pid))
        ingest_s, accepted = blast(port, "/v2/enqueue", events)
        cpu.append(group_cpu(server.pid))
        with sqlite3.connect(Path(data) / "incidentdesk.sqlite3") as db:
            counted, alerts = db.execute("SELECT SUM(count), COUNT(*) FROM ingest_alert").fetchone()
            incidents = db.execute("SELECT COUNT(*) FROM incidents_incident").fetchone()[0]
        latencies = page_latency(port, key, env, pages) if PAGES else []
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        controller.stop()
    print(
        f"events: {N:,} over {THREADS} connections, {KEYS} dedup keys (SQLite, 1 server of"
        f" {PROCESSES} web processes x {WEB_THREADS} threads)"
    )
    print(f"plain POST /healthz: {N / plain_s:,.0f} req/s (statuses {plain})")
    print(f"POST /v2/enqueue:    {N / ingest_s:,.0f} events/s (statuses {accepted})")
    print(f"ratio (enqueue / plain POST): {plain_s / ingest_s:.2f}")
    plain_cpu, ingest_cpu = (cpu[1] - cpu[0]) / N, (cpu[2] - cpu[1]) / N
    print(
        f"server CPU a request: plain POST {plain_cpu * 1e6:,.0f} us, event {ingest_cpu * 1e6:,.0f}"
        f" us (2 idle cores: at most {2 / max(ingest_cpu, 1e-9):,.0f} events/s by the server's"
        f" CPU; ratio {plain_cpu / max(ingest_cpu, 1e-9):.2f})"
    )
    print(f"counted on alerts: {counted:,} of {N:,}; alerts {alerts}; incidents {incidents}")
    if latencies:
        print(
            f"trigger -> page accepted by SMTP ({PAGES} pages): "
            f"p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s, "
            f"max {latencies[-1]:.2f} s"
        )
    if counted != N or accepted.get(202) != N:
        raise SystemExit("events were lost")


if __name__ == "__main__":
    main()
