"""Memory footprint of `incidentdesk serve`: all its processes (the main process, the web
processes, the task worker) added up, idle and after a minute at 64 connections.

Needs wrk, the HTTP load generator, from Debian: `apt-get install -y wrk`.

A fresh data dir is set up (`incidentdesk init`, a member with an API token, a few incidents)
and `incidentdesk serve` started with its default processes and threads (or the options
given after `--`). Resident memory (VmRSS from /proc/PID/status) of every process under
`serve` is read when it has settled, then wrk loads it with 64 connections, each request
going round the team's incident list in the API, an incident in the API, the public status
page, its JSON and /healthz; then the memory is read again. Printed: each process's RSS,
the sum, and the budget check (idle at most 200 MiB, after load under 350 MiB). Also the RSS
of a stand-alone `incidentdesk worker`, idle.

Run: .venv/bin/python bench/footprint.py [--quick] [--seconds 60] [-- SERVE OPTIONS]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "incidentdesk.cli"]
IDLE_BUDGET_MIB = 200
LOADED_BUDGET_MIB = 350
LUA = """
local paths = {"/api/v1/incidents", "/api/v1/incidents/INC-1", "/status/",
               "/api/v2/summary.json", "/healthz"}
local i = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(
        args, env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    kids: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(n) for n in line.split())
        kids.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(kids.get(p, []))
    return found


def describe(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return "gone"
    threads = len(os.listdir(f"/proc/{pid}/task"))
    if "worker" in args:
        return f"task worker ({threads} threads)"
    return f"web process ({threads} threads)"


def snapshot(label: str, pid: int) -> float:
    total = 0
    print(f"{label}:")
    for p in tree(pid):
        try:
            kib = rss_kib(p)
        except OSError:
            continue
        total += kib
        role = "serve, main process" if p == pid else describe(p)
        print(f"  {p:>7}  {kib / 1024:6.1f} MiB  {role}")
    mib = total / 1024
    print(f"  total   {mib:6.1f} MiB")
    return mib


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def prepare(env: dict[str, str]) -> str:
    run([*CLI, "init"], env)
    run([*CLI, "createuser", "--email", "alex@bench.test", "--password", "bench-password-1",
         "--role", "member"], env)  # fmt: skip
    return run([*CLI, "token", "create", "--email", "alex@bench.test"], env).split()[-1]


def settle(seconds: float) -> None:
    time.sleep(seconds)


def worker_rss(env: dict[str, str], wait: float) -> float:
    worker = subprocess.Popen([*CLI, "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        settle(wait)
        return rss_kib(worker.pid) / 1024
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 s of load instead of 60")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("serve_options", nargs="*", help="passed on to serve (after --)")
    args = parser.parse_args()
    seconds = 5 if args.quick else args.seconds
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    data = tempfile.mkdtemp(prefix="bench-footprint-")
    env = {**os.environ, "INCIDENTDESK_DATA_DIR": data}
    env.setdefault("INCIDENTDESK_DATABASE_URL", "")
    token = prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *args.serve_options],
        env={**env, "INCIDENTDESK_BASE_URL": base},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(base + "/healthz")
        request = urllib.request.Request(
            base + "/api/v1/incidents",
            data=json.dumps({"title": "Checkout fails for every customer"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        settle(3 if args.quick else 10)
        engine = "PostgreSQL" if env["INCIDENTDESK_DATABASE_URL"] else "SQLite"
        print(f"incidentdesk serve {' '.join(args.serve_options)} ({engine})")
        idle = snapshot("idle", server.pid)

        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % token)
        out = subprocess.run(
            ["wrk", "-t2", "-c64", f"-d{seconds}s", "--timeout", "10s", "-s", script.name,
             base + "/"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        os.unlink(script.name)
        rate = next(line for line in out.splitlines() if line.startswith("Requests/sec"))
        print(f"load: wrk 64 connections for {seconds} s, {rate.split(':')[1].strip()} req/s")
        loaded = snapshot("after load", server.pid)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=120)

    alone = worker_rss(env, 3 if args.quick else 10)
    print(f"a stand-alone incidentdesk worker, idle: {alone:.1f} MiB")
    idle_ok = idle <= IDLE_BUDGET_MIB
    loaded_ok = loaded < LOADED_BUDGET_MIB
    print(f"budget idle: {idle:.1f} MiB of at most {IDLE_BUDGET_MIB}: "
          f"{'within' if idle_ok else 'OVER'}")  # fmt: skip
    print(f"budget after load: {loaded:.1f} MiB of under {LOADED_BUDGET_MIB}: "
          f"{'within' if loaded_ok else 'OVER'}")  # fmt: skip


if __name__ == "__main__":
    main()
