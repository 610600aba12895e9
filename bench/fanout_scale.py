"""The fan-out at scale-out: PostgreSQL, two web processes, one and then two task workers.

Run through `bench/fanout.py --pg URL [--quick] [--mail-delay MS] [N]` (N recipients, default
10,000; `--quick`: 400; `--mail-delay`: the SMTP server takes MS milliseconds to accept each
message, as a relay on another machine does, where the local sink answers at once). A
database of its own is created on the server named by URL and dropped after.

Two public updates go to an organisation of N stakeholders, each through the real API of
`incidentdesk serve --no-worker --processes 2`; the first is sent by one
`incidentdesk worker`, the second by two. Printed: deliveries per second for each and their
ratio (goal at least 1.5), every recipient's count of messages (goal: exactly one per
update); and, during the second fan-out, p50 and p99 of `GET /healthz` and of an incident
in the API, and of the time from a new report's 201 answer to its mail to the manager being
accepted by the SMTP server (40 reports spread over the fan-out; goal p99 under 1 s).

The probes run during both fan-outs, so the ratio compares like with like. Each worker is
started in a session of its own, as a service manager starts each worker unit, and is timed
from the update's post once it beats (its start-up is not the fan-out's). The helpers that
start and stop the product and count the mail are the tests' (tests/processes/support.py).

For each fan-out it also prints where the processor time went (from /proc): the workers, the
web processes, the database's backends and background processes, this process (its SMTP
sink runs here, beside the probes) and the rest of the machine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.processes.support import (  # noqa: E402
    CLI,
    api,
    organisation_script,
    pct,
    smtp_server,
    start_serve,
    start_worker,
    stop_serve,
    stop_worker,
    wait_for,
)

MANAGER = "manager@spacewise.test"
CONTACTS = "@stores.test"
REPORTS = 40


def cli(env: dict[str, str], *args: str) -> str:
    import subprocess

    return subprocess.run(
        [*CLI, *args], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout


def cpu_seconds(pid: int) -> float:
    """User and system time of a running process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """Processor time the whole machine spent not idle (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it (the web server's watcher and its web processes)."""
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(kids.get(found[-1], []))
    return found


class CpuAccount:
    """Where the processor time of a fan-out went: per group of processes, from
    /proc/PID/stat before and after (a process that ends in between is not counted)."""

    def __init__(self, conn, db_name: str, workers: list[int], web: int) -> None:  # type: ignore[no-untyped-def]
        self.conn, self.db_name, self.workers, self.web = conn, db_name, workers, web
        self.before = self.read()
        self.machine = machine_busy_seconds()
        self.spent: dict[str, float] = {}

    def groups(self) -> dict[str, list[int]]:
        rows = self.conn.execute(
            "SELECT pid, datname FROM pg_stat_activity WHERE datname = %s OR datname IS NULL",
            (self.db_name,),
        ).fetchall()
        return {
            "workers": self.workers,
            "web processes": descendants(self.web),
            "PostgreSQL backends": [pid for pid, db in rows if db == self.db_name],
            "PostgreSQL background": [pid for pid, db in rows if db is None],
            "bench (SMTP sink, probes)": [os.getpid()],
        }

    def read(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for group, pids in self.groups().items():
            out[group] = {}
            for pid in pids:
                with contextlib.suppress(OSError, IndexError):
                    out[group][pid] = cpu_seconds(pid)
        return out

    def finish(self) -> None:
        after = self.read()
        for group, pids in after.items():
            self.spent[group] = sum(t - self.before[group].get(pid, 0.0) for pid, t in pids.items())
        whole = machine_busy_seconds() - self.machine
        self.spent["anything else on the machine"] = whole - sum(self.spent.values())
        self.spent["whole machine"] = whole


class Run:
    """One fan-out: its rate, its workers' processor time and the load it ran under."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.rate = 0.0
        self.cpu = 0.0
        self.load = (0.0, 0.0)
        self.seconds = 0.0
        self.account: CpuAccount | None = None


def fan_out(env, db_url, web, base, token, inbox, run, status, n, during=None):  # type: ignore[no-untyped-def]
    """Start `run.workers` workers, post an update once they beat, and wait until every
    contact has one more message."""
    import psycopg

    procs = [start_worker(env) for _ in range(run.workers)]
    conn = psycopg.connect(db_url, autocommit=True)
    try:
        pids = [proc.pid for proc in procs]
        query = "SELECT count(DISTINCT pid) FROM core_workerheartbeat WHERE pid = ANY(%s)"
        if not wait_for(lambda: conn.execute(query, (pids,)).fetchone()[0] == len(pids), 300):
            raise SystemExit("the workers did not start")
        target = inbox.messages_to(CONTACTS) + n
        run.load = (os.getloadavg()[0], 0.0)
        side = threading.Thread(target=during, daemon=True) if during else None
        run.account = CpuAccount(conn, conn.info.dbname, pids, web)
        start = time.monotonic()
        assert api(base, "POST", "/api/v1/incidents/INC-1/updates", token,
                   {"status": status, "body": "We are restoring sync store by store."})[0] == 201  # fmt: skip
        if side:
            side.start()
        # read 50 times a second: a count kept as mail arrives, not a walk over every contact
        if not wait_for(lambda: inbox.messages_to(CONTACTS) >= target, 3600, step=0.02):
            raise SystemExit("the fan-out did not finish within an hour")
        run.seconds = time.monotonic() - start
        run.account.finish()
        run.rate = n / run.seconds
        run.load = (run.load[0], os.getloadavg()[0])
        run.cpu = sum(cpu_seconds(proc.pid) for proc in procs)
        if side:
            side.join()
        time.sleep(1)  # a repeat would arrive about now
    finally:
        conn.close()
        for proc in procs:
            stop_worker(proc)


def main(pg_url: str, n: int, mail_delay: float = 0.0) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(pg_url)
    # named after the database in URL (its prefix), so a shared server's names stay apart
    prefix = parts.path.strip("/") or "bench_fanout"
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = parts._replace(path="/postgres").geturl()
    db_url = parts._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    server = None
    one, two = Run(1), Run(2)
    probes: dict[str, list[float]] = {"healthz": [], "incident": []}
    notices: list[float] = []
    failures = Counter[str]()
    try:
        with smtp_server(mail_delay) as (inbox, smtp_port):
            env = {
                **os.environ,
                "INCIDENTDESK_DATA_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / name),
                "INCIDENTDESK_DATABASE_URL": db_url,
                "INCIDENTDESK_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            }
            cli(env, "init")
            cli(env, "manage", "shell", "-c", organisation_script(n))
            token = cli(env, "token", "create", "--email", "member@spacewise.test").split()[-1]
            cli(env, "worker", "--batch")  # the set-up's own notices
            server, base = start_serve(env, "--no-worker", "--processes", "2")
            stop = threading.Event()

            def probe() -> None:
                while not stop.is_set():
                    for label, path in [("healthz", "/healthz"),
                                        ("incident", "/api/v1/incidents/INC-1")]:  # fmt: skip
                        t = time.monotonic()
                        status = api(base, "GET", path, token)[0]
                        probes[label].append(time.monotonic() - t)
                        if status != 200:
                            failures[label] += 1
                    time.sleep(0.05)

            def report() -> None:
                # spread over about two thirds of the expected fan-out, at one worker's pace x 2
                gap = max(0.05, (n / (one.rate * 2)) * 0.66 / REPORTS)
                for i in range(REPORTS):
                    status, body = api(base, "POST", "/api/v1/incidents", token,
                                       {"title": f"Card terminals offline in store {i}"})  # fmt: skip
                    answered = time.monotonic()
                    if status != 201:
                        failures["report"] += 1
                        continue
                    key = (body["ref"], MANAGER)
                    wait_for(lambda: key in inbox.first, 60, step=0.005)  # noqa: B023
                    notices.append(inbox.first.get(key, float("inf")) - answered)
                    time.sleep(gap)

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            fan_out(env, db_url, server.pid, base, token, inbox, one, "identified", n)
            two_probes = {label: len(values) for label, values in probes.items()}
            fan_out(
                env, db_url, server.pid, base, token, inbox, two, "monitoring", n, during=report
            )
            stop.set()
            prober.join()
            distinct, total = inbox.count(CONTACTS)
    finally:
        if server is not None:
            stop_serve(server)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    print(f"recipients: {n} a fan-out (PostgreSQL, 2 web processes)"
          + (f", the SMTP server {mail_delay * 1000:g} ms a message" if mail_delay else ""))  # fmt: skip
    for run in (one, two):
        print(f"{run.workers} worker(s): {run.rate:.0f} deliveries/s, workers' processor time "
              f"{run.cpu * 1000 / n:.1f} ms a delivery, load average "
              f"{run.load[0]:.1f} at the start, {run.load[1]:.1f} at the end")  # fmt: skip
    for run in (one, two):
        assert run.account is not None
        print(f"processor time during the fan-out with {run.workers} worker(s), "
              f"{run.seconds:.1f} s (2 cores: {2 * run.seconds:.0f} s available):")  # fmt: skip
        for group, spent in run.account.spent.items():
            print(f"  {group}: {spent:.1f} s, {spent * 1000 / n:.2f} ms a delivery")
    print(f"ratio (2 workers / 1): {two.rate / one.rate:.2f} (goal >= 1.5)")
    print(f"messages per contact: {total} for {distinct} contacts and 2 updates "
          f"({total - 2 * distinct} repeats, {2 * n - total} missing)")  # fmt: skip
    for label, values in probes.items():
        print(f"during the fan-outs, GET {label}: {len(values)} requests "
              f"({len(values) - two_probes[label]} during the second), "
              f"p50 {pct(values, 0.5) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms, "
              f"{failures[label]} not 200")  # fmt: skip
    print(f"a new report's mail to the manager, from its 201 to the SMTP server: "
          f"{len(notices)} reports, p50 {pct(notices, 0.5):.2f} s, p99 {pct(notices, 0.99):.2f} s "
          f"(goal p99 < 1 s), {failures['report']} reports refused")  # fmt: skip
