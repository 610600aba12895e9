"""Writes under load: API creates and notes from 4, 16 and 64 clients, SQLite and PostgreSQL.

Needs wrk, the HTTP load generator, from Debian: `apt-get install -y wrk`.

For each database a fresh data dir is set up (`incidentdesk init`, a member with an API
token) and `incidentdesk serve --no-worker` started on 127.0.0.1. wrk then POSTs for a few
seconds per client count: `POST /api/v1/incidents` (a new incident, its timeline entry and
its queued notices) and `POST /api/v1/incidents/INC-1/note` (one incident's chain, the most
contended row there is). The databases take turns, so other load on the machine falls on both
alike. Printed per database and client count: requests per second, p50 and p99 latency,
time-outs and non-2xx answers; then SQLite's p99 as a ratio of PostgreSQL's at the same
client count (goal: at most 2, no time-outs).

PostgreSQL is used when INCIDENTDESK_TEST_DATABASE_URL (or --pg URL) names a server; a
database `bench_writes` is created there and dropped after.

Run: .venv/bin/python bench/writes.py [SECONDS_PER_RUN] [--clients 4,16,64] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "incidentdesk.cli"]
sys.path.insert(0, str(ROOT / "bench"))
from statuspage import free_port, to_ms, wait_for  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '%s'
"""
CREATE = '{"title": "Checkout fails under load", "description": "Error 500 on pay"}'
NOTE = '{"body": "Looked at the payment provider logs."}'


def run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(
        args, env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout


def prepare(label: str, database_url: str) -> dict[str, str]:
    data = tempfile.mkdtemp(prefix=f"bench-writes-{label}-")
    env = {
        **os.environ,
        "INCIDENTDESK_DATA_DIR": data,
        "INCIDENTDESK_DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "incidentdesk.settings",
    }
    run([*CLI, "init"], env)
    run(
        [
            *CLI,
            "createuser",
            "--email",
            "alex@bench.test",
            "--password",
            "bench-password-1",
            "--role",
            "member",
        ],
        env,
    )
    env["BENCH_TOKEN"] = run([*CLI, "token", "create", "--email", "alex@bench.test"], env).split()[
        -1
    ]
    return env


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
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
        env={**env, "INCIDENTDESK_BASE_URL": base},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(base + "/healthz")
    request = urllib.request.Request(
        base + "/api/v1/incidents",
        data=CREATE.encode(),
        headers={
            "Authorization": f"Bearer {env['BENCH_TOKEN']}",
            "Content-Type": "application/json",
        },
    )
    urllib.request.urlopen(request, timeout=10).close()  # INC-1, for the notes
    return server, base


def wrk(url: str, token: str, body: str, clients: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (token, body))
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(clients, 2)}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    found = re.search(r"timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "timeouts": int(found.group(1)) if found else 0,
        "non2xx": int(bad.group(1)) if bad else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", nargs="?", type=int, default=5)
    parser.add_argument("--clients", default="4,16,64")
    parser.add_argument("--pg", default=os.environ.get("INCIDENTDESK_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    counts = [int(c) for c in args.clients.split(",")]
    databases = {"SQLite": ""}
    pg_admin = ""
    if args.pg:
        parts = urllib.parse.urlsplit(args.pg)
        pg_admin = args.pg
        databases["PostgreSQL"] = parts._replace(path="/bench_writes").geturl()
        subprocess.run(
            ["psql", pg_admin, "-qc", "DROP DATABASE IF EXISTS bench_writes"], check=True
        )
        subprocess.run(["psql", pg_admin, "-qc", "CREATE DATABASE bench_writes"], check=True)
    servers: list[subprocess.Popen[bytes]] = []
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    try:
        bases, envs = {}, {}
        for label, url in databases.items():
            envs[label] = prepare(label.lower(), url)
            server, bases[label] = serve(envs[label])
            servers.append(server)
        for what, path, body in (
            ("create", "/api/v1/incidents", CREATE),
            ("note", "/api/v1/incidents/INC-1/note", NOTE),
        ):
            for label in databases:
                # every web process has served this write once before it is timed: a
                # process's first request imports the API (about a second)
                wrk(bases[label] + path, envs[label]["BENCH_TOKEN"], body, 8, 1)
            for clients in counts:
                for label in databases:  # the databases take turns
                    results[(what, label, clients)] = wrk(
                        bases[label] + path, envs[label]["BENCH_TOKEN"], body, clients, args.seconds
                    )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        if pg_admin:
            time.sleep(0.5)
            subprocess.run(["psql", pg_admin, "-qc", "DROP DATABASE IF EXISTS bench_writes"])
    print(f"wrk, {args.seconds} s per run, POST with a member's token")
    print(
        f"  {'write':7} {'database':11} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'timeouts':>8} {'non-2xx':>8}"
    )
    for (what, label, clients), r in results.items():
        print(
            f"  {what:7} {label:11} {clients:7} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f}"
            f" {r['timeouts']:8.0f} {r['non2xx']:8.0f}"
        )
    if "PostgreSQL" in databases:
        print("SQLite p99 / PostgreSQL p99 (goal at most 2):")
        for what in ("create", "note"):
            for clients in counts:
                ratio = (
                    results[(what, "SQLite", clients)]["p99"]
                    / results[(what, "PostgreSQL", clients)]["p99"]
                )
                print(f"  {what:7} {clients:3} clients: {ratio:5.2f}")


if __name__ == "__main__":
    main()
