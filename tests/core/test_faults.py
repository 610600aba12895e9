"""`incidentdesk serve` as an operator's machine treats it: stopped by a signal to its whole
process group, killed with -9, its database cut off for a while. Real processes, a real SMTP
server, on the suite's own database engine (a fresh database of their own on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from tests.comms.conftest import free_port
from tests.comms.test_worker_crash import QUEUE_MANY_SCRIPT, SlowInbox

COUNT = 500
ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]


def _wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def database_url() -> Iterator[str]:
    """ "" (SQLite in the data dir) in the SQLite run; a new PostgreSQL database in the other."""
    if not ON_POSTGRES:
        yield ""
        return
    import psycopg

    suite = urllib.parse.urlsplit(os.environ["INCIDENTDESK_DATABASE_URL"])
    admin = suite._replace(path="/postgres").geturl()
    # named after the suite's database (its prefix), so a shared server's names stay apart
    name = f"{suite.path.strip('/') or 'faults'}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield suite._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Product:
    """A data dir, a database and a mailbox: the CLI and `serve` against them."""

    def __init__(self, data_dir: Path, database_url: str, smtp_port: int) -> None:
        self.env = {
            **os.environ,
            "INCIDENTDESK_DATA_DIR": str(data_dir),
            "INCIDENTDESK_DATABASE_URL": database_url,
            "INCIDENTDESK_SECRET_KEY": "faults-test-secret-key-faults-test-secret-key",
            "INCIDENTDESK_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        }
        self.server: subprocess.Popen[bytes] | None = None
        self.port = 0

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "incidentdesk.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def serve(self) -> str:
        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        self.server = subprocess.Popen(
            [sys.executable, "-m", "incidentdesk.cli", "serve", "--port", str(self.port)],
            env={**self.env, "INCIDENTDESK_BASE_URL": base},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, as a service manager gives it
        )
        assert _wait(lambda: answers(base), timeout=120), "serve did not come up"
        return base

    def processes(self) -> list[int]:
        """serve's main process and every process under it (web processes, the worker)."""
        assert self.server is not None
        out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
        children: dict[int, list[int]] = {}
        for line in out.splitlines():
            pid, ppid = (int(n) for n in line.split())
            children.setdefault(ppid, []).append(pid)
        found, todo = [], [self.server.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def inbox() -> Iterator[tuple[SlowInbox, int]]:
    box = SlowerInbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def product(tmp_path, database_url, inbox) -> Iterator[Product]:
    made = Product(tmp_path, database_url, inbox[1])
    made.cli("init")
    yield made
    made.stop()


def _worker_pids(product: Product) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    assert product.server is not None
    return {
        int(line.split()[0])
        for line in out.splitlines()
        if line.split()[1] == str(product.server.pid) and "incidentdesk.cli worker" in line
    }


class SlowerInbox(SlowInbox):
    """20 ms a message: a 500-message fan-out lasts long enough to stop serve in its middle."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.015)
        return await super().handle_DATA(server, session, envelope)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent (or init) to collect it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _describe(pid: int) -> str:
    try:
        return f"{pid} " + Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:120]
    except OSError:
        return str(pid)


def test_kill_9_of_serve_leaves_nothing_answering_on_its_port(product):
    base = product.serve()
    assert _wait(lambda: _worker_pids(product), timeout=30), "serve started no worker"
    children = product.processes()
    assert len(children) >= 3, children  # serve, its web processes, its worker

    os.kill(product.server.pid, signal.SIGKILL)
    product.server.wait()

    assert _wait(lambda: not answers(base), timeout=15), "web processes outlived serve"
    assert _wait(lambda: not [p for p in children if _running(p)], timeout=30), (
        "processes of the killed serve are still running: "
        + ", ".join(_describe(p) for p in children if _running(p))
    )


def test_sigterm_to_the_process_group_mid_fan_out_sends_nothing_twice(product, inbox):
    box, _ = inbox
    product.cli("manage", "shell", "-c", QUEUE_MANY_SCRIPT)
    product.serve()
    assert _wait(lambda: box.seen()[0] >= 60, timeout=180), "the fan-out did not start"

    # what systemd's stop and Ctrl-C do: the signal goes to every process of the group
    os.killpg(product.server.pid, signal.SIGTERM)
    assert product.server.wait(timeout=120) is not None
    distinct_at_stop, _ = box.seen()

    product.cli("worker", "--batch")  # the rest, as the next start would send them
    distinct, total = box.seen()
    assert distinct == COUNT, f"{COUNT - distinct} deliveries lost (stopped at {distinct_at_stop})"
    assert total == distinct, f"{total - distinct} sent twice (stopped at {distinct_at_stop})"


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL whose link can be cut: every open connection is
    dropped and new ones are refused until it is mended."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if not self.up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (a, b):
                sock.close()
            with self.lock:
                self.open.difference_update((a, b))

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for sock in list(self.open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def mend(self) -> None:
        self.up.set()


def _post(base: str, path: str, token: str, body: dict[str, object]) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.skipif(not ON_POSTGRES, reason="cuts the link to a PostgreSQL server")
def test_a_five_second_database_outage_does_not_stop_the_notices(product, database_url, inbox):
    box, _ = inbox
    parts = urllib.parse.urlsplit(database_url)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    product.cli(
        "createuser",
        "--email",
        "manager@faults.test",
        "--password",
        "faults-pass-1",
        "--role",
        "manager",
    )
    product.cli(
        "createuser",
        "--email",
        "ops@northwind.test",
        "--password",
        "faults-pass-1",
        "--role",
        "stakeholder",
        "--org",
        "Northwind",
    )
    token = product.cli("token", "create", "--email", "ops@northwind.test").split()[-1]
    product.env["INCIDENTDESK_DATABASE_URL"] = parts._replace(
        netloc=f"{parts.username}@127.0.0.1:{proxy.port}"
    ).geturl()
    base = product.serve()
    assert _post(base, "/api/v1/incidents", token, {"title": "Before the outage"})[0] == 201
    assert _wait(lambda: box.seen()[0] >= 1, timeout=60), "no notice before the outage"
    before = box.seen()[0]

    proxy.cut()
    time.sleep(5)
    proxy.mend()

    # the first request after the outage may still meet a dropped connection; the next works
    assert _wait(
        lambda: _post(base, "/api/v1/incidents", token, {"title": "After the outage"})[0] == 201,
        timeout=60,
    ), "the API did not recover after the database came back"
    assert _wait(lambda: box.seen()[0] > before, timeout=90), (
        "the report's notice was not sent after the outage: the task worker did not recover"
    )
    assert product.server.poll() is None
