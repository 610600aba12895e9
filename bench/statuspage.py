"""The public status page under a surge: /status/ and /api/v2/summary.json against /healthz.

Needs wrk, the HTTP load generator, from Debian: `apt-get install -y wrk`.

Sets up two temporary SQLite data dirs with the same status page (six components, a published
active incident with posts, an upcoming maintenance), one of them with 10,000 more past
published incidents (bulk inserts), and starts `incidentdesk serve --no-worker` on 127.0.0.1
for each. wrk then runs at 64 connections for a few seconds per endpoint, the two servers
taking turns endpoint by endpoint, so that both data sets meet the same machine: requests per
second and p50/p99 latency, next to /healthz in the same run. Goals: the page and summary
reach at least 0.7 of /healthz's requests per second, and with 10,000 past incidents at least
0.9 of their rate with 10.

Run: .venv/bin/python bench/statuspage.py [SECONDS_PER_RUN]   (default 4)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 4
CONNECTIONS = 64
# endpoints take turns, twice each, so that a burst of other load on the machine hits all alike
ROUNDS = 2
# as every browser sends it
GZIP = "Accept-Encoding: gzip, deflate, br"
PATHS = ["/healthz", "/status/", "/api/v2/summary.json"]
ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "incidentdesk.cli"]

SEED = r"""
import datetime as dt, sys
import django
django.setup()
from django.db import transaction
from incidentdesk.accounts.services import user_create
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, PublicUpdate
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import Publication

past = int(sys.argv[1])
if past == 0:
    manager = user_create(by=None, email="m@bench.test", password="bench-password-1", role="manager")
    now = clock.now()
    names = ["API", "Website", "Checkout", "Reporting", "Search", "Mail"]
    with clock.frozen(now - dt.timedelta(days=90)):
        made = [services.component_create(by=manager, name=n) for n in names]
    for i in range(9):
        with clock.frozen(now - dt.timedelta(days=80 - 8 * i)) as c:
            inc = s.incident_report(by=manager, title=f"Past incident {i}")
            s.incident_categorize(by=manager, incident=inc, type="functionality", severity="P3",
                                  impact="few")
            services.incident_link_component(by=manager, incident=inc.ref,
                                             component=made[i % 6].pk, status="partial_outage")
            services.incident_publish(by=manager, incident=inc.ref)
            s.incident_post_update(by=manager, incident=inc, status="identified", body="Found it.")
            c.advance(hours=2)
            s.incident_resolve(by=manager, incident=inc, summary="Fixed.")
    active = s.incident_report(by=manager, title="Checkout errors")
    s.incident_categorize(by=manager, incident=active, type="functionality", severity="P2",
                          impact="some")
    services.incident_link_component(by=manager, incident=active.ref, component=made[2].pk,
                                     status="major_outage")
    services.incident_publish(by=manager, incident=active.ref)
    s.incident_post_update(by=manager, incident=active, status="identified",
                           body="A payment provider times out.")
    services.maintenance_schedule(by=manager, name="Database upgrade",
                                  scheduled_for=now + dt.timedelta(days=2),
                                  scheduled_until=now + dt.timedelta(days=2, hours=2),
                                  components=[made[0].pk])
else:
    # bulk: a benchmark's data set, far older than the 7 days and 90 days the page shows
    template = Incident.objects.order_by("pk").first()
    now = clock.now()
    with transaction.atomic():
        for start in range(0, past, 1000):
            batch = []
            for i in range(start, min(past, start + 1000)):
                at = now - dt.timedelta(days=100, minutes=70 * i)
                batch.append(Incident(title=f"Old incident {i}", status="closed", type="functionality",
                                      severity="P3", impact="few", reporter=template.reporter,
                                      policy_version=template.policy_version, reported_at=at,
                                      resolved_at=at + dt.timedelta(hours=1), updated_at=at))
            made = Incident.objects.bulk_create(batch)
            Publication.objects.bulk_create(
                [Publication(incident=inc, public_title=inc.title, published_at=inc.reported_at)
                 for inc in made])
            PublicUpdate.objects.bulk_create(
                [PublicUpdate(incident=inc, status=st, body="Text of the update.", seq=n,
                              posted_at=inc.reported_at + dt.timedelta(minutes=30 * n))
                 for inc in made for n, st in enumerate(["investigating", "resolved"], 1)])
        services.page_bump()
"""

# the cost of a cache miss (a new page version): rendering each output from the database
RENDER = r"""
import statistics, time
import django
django.setup()
from incidentdesk.statuspage import public
for name, render in [("/status/", public.page_html),
                     ("/api/v2/summary.json", lambda: public.json_bytes("summary.json")),
                     ("/status/history.atom", lambda: public.feed_bytes("atom"))]:
    render()
    times = []
    for _ in range(7):
        started = time.perf_counter()
        render()
        times.append((time.perf_counter() - started) * 1000)
    print(f"  {name:24} {statistics.median(times):9.1f} ms")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def wait_for(url: str) -> None:
    for _ in range(200):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer at {url}")


def to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:
        raise SystemExit(f"cannot read wrk's latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, seconds: float | None = None) -> tuple[float, float, float, int]:
    duration = seconds if seconds is not None else SECONDS / ROUNDS
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(duration))}s",  # wrk takes whole seconds
            "--latency",
            "-H",
            GZIP,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Latency Distribution" not in out:
        raise SystemExit(f"wrk printed no latency distribution:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def measure(bases: dict[str, str]) -> dict[str, dict[str, float]]:
    """Rates per server and path. The servers take turns within each round, path by path, so
    a burst of other load on the machine hits both data sets alike."""
    for base in bases.values():
        for path in PATHS:
            # every web process renders the page once per version: not part of the figures
            wrk(base + path, seconds=1)
    runs: dict[str, dict[str, list[tuple[float, float, float, int]]]] = {
        label: {path: [] for path in PATHS} for label in bases
    }
    for _ in range(ROUNDS):
        for path in PATHS:
            for label, base in bases.items():
                runs[label][path].append(wrk(base + path))
    rates: dict[str, dict[str, float]] = {}
    for label, by_path in runs.items():
        rates[label] = {path: sum(r[0] for r in res) / ROUNDS for path, res in by_path.items()}
        print(f"\n{label}: wrk, {CONNECTIONS} connections, {SECONDS} s per endpoint, gzip accepted")
        print(f"  {'endpoint':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  vs /healthz")
        for path, results in by_path.items():
            p50 = sum(r[1] for r in results) / ROUNDS
            p99 = max(r[2] for r in results)
            bad = sum(r[3] for r in results)
            note = f"  ({bad} non-2xx)" if bad else ""
            ratio = rates[label][path] / rates[label]["/healthz"]
            print(
                f"  {path:24} {rates[label][path]:9.0f} {p50:8.2f} {p99:8.2f}  {ratio:9.2f}{note}"
            )
    return rates


def prepare(past: int) -> tuple[str, dict[str, str]]:
    data = tempfile.mkdtemp(prefix="bench-statuspage-")
    env = {
        **os.environ,
        "INCIDENTDESK_DATA_DIR": data,
        "DJANGO_SETTINGS_MODULE": "incidentdesk.settings",
    }
    env.pop("INCIDENTDESK_DATABASE_URL", None)
    run([*CLI, "init"], env)
    run([*CLI, "manage", "collectstatic", "--noinput"], env)
    run([sys.executable, "-c", SEED, "0"], env)
    if past:
        started = time.monotonic()
        run([sys.executable, "-c", SEED, str(past)], env)
        print(f"(added {past:,} past incidents in {time.monotonic() - started:.1f} s)")
    return data, env


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env["INCIDENTDESK_BASE_URL"] = f"http://127.0.0.1:{port}"
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
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/healthz")
    return server, base


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    few, many = "10 past incidents", "10,010 past incidents"
    dirs: list[str] = []
    servers: list[subprocess.Popen[bytes]] = []
    try:
        bases: dict[str, str] = {}
        envs: dict[str, dict[str, str]] = {}
        # two servers side by side, one per data set, measured in turns
        for label, past in ((few, 0), (many, 10_000)):
            data, envs[label] = prepare(past)
            dirs.append(data)
            server, bases[label] = serve(envs[label])
            servers.append(server)
        rates = measure(bases)
        for label in (few, many):
            print(f"\nrendering on a new page version, {label} (median of 7)")
            subprocess.run([sys.executable, "-c", RENDER], env=envs[label], check=True, cwd=ROOT)
        print("\nratios")
        print(
            f"  {'/healthz':24} 10,000 past vs 10: {rates[many]['/healthz'] / rates[few]['/healthz']:.2f} (the same work: the run's noise)"
        )
        for path in PATHS[1:]:
            print(
                f"  {path:24} vs /healthz: {rates[few][path] / rates[few]['/healthz']:.2f} "
                f"(goal >= 0.7); 10,000 past vs 10: {rates[many][path] / rates[few][path]:.2f} "
                "(goal >= 0.9)"
            )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        for data in dirs:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
