"""The processes of `incidentdesk serve`: granian's web processes and the task worker.

`serve` checks the database with Django loaded, then replaces itself (same process id) with
this module's `main`, which imports neither Django nor the application: it only starts and
watches processes, so it costs what Python and granian cost (about 27 MiB) instead of a whole
Django (about 90 MiB). Each web process loads the application itself.

How many web processes and threads: `serve --processes N --threads N`, or
INCIDENTDESK_WEB_PROCESSES and INCIDENTDESK_WEB_THREADS. A WSGI request holds its thread
for its whole run, and Python runs one thread at a time per process, so threads beyond a few
per process only wait for each other while each keeps its own stack, database connection and
buffers; granian's own default (up to 256) took a web process to 250 MiB under load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from incidentdesk.core import logs

DEFAULT_PROCESSES = 1
DEFAULT_THREADS = 8


def _env_count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


def default_processes() -> int:
    """INCIDENTDESK_WEB_PROCESSES, else one: with the task worker beside it, one web process
    keeps the product within 200 MiB; add one per spare core when pages are busy."""
    return _env_count("INCIDENTDESK_WEB_PROCESSES", DEFAULT_PROCESSES)


def default_threads() -> int:
    return _env_count("INCIDENTDESK_WEB_THREADS", DEFAULT_THREADS)


class WorkerKeeper:
    """The task worker beside the web server: restarted when it dies, stopped exactly once.

    The worker runs in a session of its own, so a signal sent to `serve`'s whole process group
    (Ctrl-C, systemd's stop) reaches it once, from here, as one SIGTERM: a graceful drain that
    finishes the batch in hand. Two signals would mean "stop now", mid-batch."""

    def __init__(self, stdout: IO[str], drain_seconds: float) -> None:
        self.stdout = stdout
        self.drain_seconds = drain_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "incidentdesk.cli", "worker"],
            start_new_session=True,
            env={**os.environ, "INCIDENTDESK_PARENT_PID": str(os.getpid())},
        )

    def start(self) -> None:
        with self.lock:
            if self.stopping.is_set():
                return
            self._spawn()
        threading.Thread(target=self._watch, daemon=True, name="worker-keeper").start()

    def _watch(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            code = process.wait()  # reaps it: no zombie left behind
            if self.stopping.is_set():
                return
            if time.monotonic() - started > 60:
                backoff = 1.0
            self.stdout.write(
                f"The task worker stopped (exit {code}); restarting in {backoff:.0f} s.\n"
            )
            self.stdout.flush()
            if self.stopping.wait(backoff):
                return
            backoff = min(30.0, backoff * 2)
            with self.lock:
                if self.stopping.is_set():
                    return
                self._spawn()

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.drain_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(options: dict[str, Any]) -> None:
    """Serve with granian and keep a task worker beside it (unless `worker` is false)."""
    from granian import Granian
    from granian.constants import Interfaces

    # the web processes and the worker stop when this process is gone, however it ended
    os.environ["INCIDENTDESK_PARENT_PID"] = str(os.getpid())
    keeper = None
    if options["worker"]:
        keeper = WorkerKeeper(sys.stdout, options["drain_seconds"])
        keeper.start()
    sys.stdout.write(f"IncidentDesk on http://{options['host']}:{options['port']}/\n")
    sys.stdout.flush()
    try:
        Granian(
            target="incidentdesk.wsgi:application",
            address=options["host"],
            port=options["port"],
            interface=Interfaces.WSGI,
            workers=options["processes"],
            blocking_threads=options["threads"],
            # a web process that dies (killed, out of memory) is replaced; the others serve
            respawn_failed_workers=True,
            static_path_route=[options["static_url"]],
            static_path_mount=[Path(options["static_root"])],
            log_access=False,
            log_dictconfig=logs.server_logging(options.get("log_format", "text")),
        ).serve()
    finally:
        if keeper is not None:
            keeper.stop()


def main() -> None:
    run(json.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
