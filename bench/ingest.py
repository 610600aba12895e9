"""Alert events accepted per second, end to end, against a plain POST to /healthz in the
same run as the baseline.

Starts `incidentdesk serve --no-worker` on a fresh SQLite data dir, creates an integration
with the real command, then posts N PagerDuty trigger events to /v2/enqueue from THREADS
keep-alive connections: KEYS distinct dedup keys, the rest repeats (what a flapping check or
an Alertmanager group re-notifying sends). End to end means every event answered 202 and
counted on its alert, on the incident it opened or joined; the bench checks that none was
lost. Run: .venv/bin/python bench/ingest.py [N] [THREADS] [KEYS]
"""

from __future__ import annotations

import http.client
import json
import os
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

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
KEYS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
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


def blast(port: int, path: str, bodies: list[bytes]) -> tuple[float, dict[int, int]]:
    """Post every body from THREADS keep-alive connections; (seconds, count per status)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [bodies[i::THREADS] for i in range(THREADS)]

    def worker(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: dict[int, int] = {}
        for body in chunk:
            for attempt in (1, 2):
                try:
                    conn.request(
                        "POST", path, body=body, headers={"Content-Type": "application/json"}
                    )
                    response = conn.getresponse()
                    response.read()
                    break
                except (OSError, http.client.HTTPException):
                    # the server closed the kept-alive connection: open another, send again
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    if attempt == 2:
                        raise
            seen[response.status] = seen.get(response.status, 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
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


def main() -> None:
    data = tempfile.mkdtemp(prefix="bench-ingest-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    env.update(INCIDENTDESK_DATA_DIR=data, INCIDENTDESK_SECRET_KEY="bench-ingest-" * 4)
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
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
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
        plain_s, plain = blast(port, "/healthz", [b"{}"] * N)
        ingest_s, accepted = blast(port, "/v2/enqueue", events)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    with sqlite3.connect(Path(data) / "incidentdesk.sqlite3") as db:
        counted, alerts = db.execute("SELECT SUM(count), COUNT(*) FROM ingest_alert").fetchone()
        incidents = db.execute("SELECT COUNT(*) FROM incidents_incident").fetchone()[0]
    print(f"events: {N:,} over {THREADS} connections, {KEYS} dedup keys (SQLite, 1 server)")
    print(f"plain POST /healthz: {N / plain_s:,.0f} req/s (statuses {plain})")
    print(f"POST /v2/enqueue:    {N / ingest_s:,.0f} events/s (statuses {accepted})")
    print(f"ratio (enqueue / plain POST): {plain_s / ingest_s:.2f}")
    print(f"counted on alerts: {counted:,} of {N:,}; alerts {alerts}; incidents {incidents}")
    if counted != N or accepted.get(202) != N:
        raise SystemExit("events were lost")


if __name__ == "__main__":
    main()
