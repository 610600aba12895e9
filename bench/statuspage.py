"""The public status page under a surge: the prepared front against /healthz and nginx.

Needs wrk (`apt-get install -y wrk`); installs nginx from Debian (`nginx-light`) when it is
missing and this runs as root.

Sets up a temporary SQLite data dir with a status page (six components, ten published
incidents with posts, one of them open, an upcoming maintenance) and starts
`incidentdesk serve --no-worker` on 127.0.0.1, which prepares the public front at start
(statuspage/prepared.py). nginx runs beside it as the current user, from a temporary config,
serving the same prepared directory with `gzip_static`. wrk then runs at 64 connections with
`Accept-Encoding: gzip` against /status/, /api/v2/summary.json and /api/v2/incidents.json on
both servers and /healthz (the cheapest answer through Django) on IncidentDesk, the servers
taking turns path by path and round by round, so that other load on the machine hits all
alike. Goals: each public output at least 3x /healthz and at least 0.5x nginx.

Then the time from a public update to its bytes being served: a public update is posted
through the API, and /api/v2/summary.json is read until it shows the update, timed from the
moment the request is sent (so an upper bound of the time from its commit), with nothing else
running and again while wrk keeps 64 connections on /status/. Goal: p99 under 1 s.

Run: .venv/bin/python bench/statuspage.py [SECONDS_PER_RUN]   (default 5)
     .venv/bin/python bench/statuspage.py --quick   (a second per run: the test suite's)
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

QUICK = "--quick" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--quick"]
SECONDS = 1 if QUICK else int(ARGS[0]) if ARGS else 5
ROUNDS = 1 if QUICK else 2
UPDATES = 5 if QUICK else 40
CONNECTIONS = 64
GZIP = "Accept-Encoding: gzip"
PUBLIC = ["/status/", "/api/v2/summary.json", "/api/v2/incidents.json"]
ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "incidentdesk.cli"]

SEED = r"""
import datetime as dt
import django
django.setup()
from incidentdesk.accounts.services import token_create, user_create
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.statuspage import services

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
print(active.ref, token_create(by=None, user=manager)[0])
"""

NGINX = """
worker_processes 2;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    index index.html;
    gzip_static on;
    etag on;
  }}
}}
"""


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


def to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:
        raise SystemExit(f"cannot read wrk's latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk_args(url: str, seconds: int) -> list[str]:
    return ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-H", GZIP, url]


def wrk(url: str, seconds: int) -> tuple[float, float, float, int]:
    out = subprocess.run(wrk_args(url, seconds), capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in out:
        raise SystemExit(f"wrk printed no latency distribution:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("nginx is missing: apt-get install -y nginx-light")
    print("(installing nginx-light from Debian)")
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "nginx-light"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(public: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # as root nginx's workers would become `nobody`, who cannot read the temporary data dir
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX.format(user=user, tmp=tmp, port=port, root=public))
    process = subprocess.Popen(
        [nginx_binary(), "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/status/")
    return process, base


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env["INCIDENTDESK_BASE_URL"] = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
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
        # a line a request on the console would cost the server more than its answer
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/healthz")
    return process, base


def measure(ours: str, nginx: str) -> dict[str, dict[str, list[tuple[float, float, float, int]]]]:
    targets = [("IncidentDesk", ours, ["/healthz", *PUBLIC]), ("nginx", nginx, PUBLIC)]
    for _, base, paths in targets:
        for path in paths:
            wrk(base + path, 1)  # warm-up, not counted
    runs: dict[str, dict[str, list[tuple[float, float, float, int]]]] = {
        label: {path: [] for path in paths} for label, _, paths in targets
    }
    for _ in range(ROUNDS):
        for path in ["/healthz", *PUBLIC]:
            for label, base, paths in targets:
                if path in paths:
                    runs[label][path].append(wrk(base + path, SECONDS))
    return runs


def post(base: str, path: str, token: str, body: dict[str, str]) -> None:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def visible_after(base: str, ref: str, token: str, n: int) -> tuple[float, float]:
    """Seconds from sending a public update to the API's answer and to /api/v2/summary.json
    showing it."""
    mark = f"Update {n} {time.time_ns()}"
    status = "monitoring" if n % 2 else "identified"
    sent = time.monotonic()
    post(base, f"/api/v1/incidents/{ref}/updates", token, {"status": status, "body": mark})
    answered = time.monotonic() - sent
    while True:
        with urllib.request.urlopen(base + "/api/v2/summary.json?poll", timeout=30) as response:
            if mark.encode() in response.read():
                return answered, time.monotonic() - sent
        if time.monotonic() - sent > 30:
            raise SystemExit(f"update {n} was not served within 30 s")
        time.sleep(0.002)


def visibility(base: str, ref: str, token: str) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {"idle": [], "under load": []}
    for n in range(UPDATES):
        times["idle"].append(visible_after(base, ref, token, n))
    load = subprocess.Popen(
        wrk_args(base + "/status/", 3600), stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        time.sleep(0.5)
        for n in range(UPDATES, 2 * UPDATES):
            times["under load"].append(visible_after(base, ref, token, n))
    finally:
        os.killpg(load.pid, signal.SIGTERM)
        load.wait()
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def report(runs: dict[str, dict[str, list[tuple[float, float, float, int]]]]) -> None:
    rate = {
        label: {path: statistics.mean(r[0] for r in res) for path, res in by_path.items()}
        for label, by_path in runs.items()
    }
    print(f"\nwrk, {CONNECTIONS} connections, {SECONDS} s a run, {ROUNDS} rounds, {GZIP}")
    print(f"  {'server':13} {'endpoint':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, by_path in runs.items():
        for path, results in by_path.items():
            bad = sum(r[3] for r in results)
            note = f"  ({bad} non-2xx)" if bad else ""
            print(
                f"  {label:13} {path:24} {rate[label][path]:9.0f} "
                f"{statistics.mean(r[1] for r in results):8.2f} "
                f"{max(r[2] for r in results):8.2f}{note}"
            )
    print("\nratios (goals: >= 3 vs /healthz, >= 0.5 vs nginx)")
    healthz = rate["IncidentDesk"]["/healthz"]
    for path in PUBLIC:
        ours = rate["IncidentDesk"][path]
        print(
            f"  {path:24} vs /healthz {ours / healthz:5.2f}   "
            f"vs nginx {ours / rate['nginx'][path]:5.2f}"
        )


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    data = Path(tempfile.mkdtemp(prefix="bench-statuspage-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        env = {**os.environ, "INCIDENTDESK_DATA_DIR": str(data)}
        env.pop("INCIDENTDESK_DATABASE_URL", None)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([*CLI, "init"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            env={**env, "DJANGO_SETTINGS_MODULE": "incidentdesk.settings"},
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split()
        ref, token = seeded[-2], seeded[-1]
        server, ours = start_serve(env)
        processes.append(server)
        nginx_dir = data / "nginx"
        nginx_dir.mkdir()
        web, theirs = start_nginx(data / "public", nginx_dir)
        processes.append(web)
        sizes = {path: len(urllib.request.urlopen(ours + path).read()) for path in PUBLIC}
        print("bytes (uncompressed): " + ", ".join(f"{p} {n:,}" for p, n in sizes.items()))
        report(measure(ours, theirs))
        times = visibility(ours, ref, token)
        print(
            "\nfrom sending a public update (POST /api/v1/incidents/INC-n/updates) to its answer,"
            " and to /api/v2/summary.json serving it (goal: p99 < 1 s)"
        )
        for label, pairs in times.items():
            for what, values in (
                ("answer", [a for a, _ in pairs]),
                ("served", [v for _, v in pairs]),
            ):
                print(
                    f"  {label:11} {what:7} n={len(values):3}"
                    f"  p50 {statistics.median(values) * 1000:7.1f} ms"
                    f"  p99 {p99(values) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
                )
        load = os.getloadavg()
        print(
            f"\nload average at the end (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        )
    finally:
        for process in processes:
            with_group = process.pid
            try:
                os.killpg(with_group, signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(with_group, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
