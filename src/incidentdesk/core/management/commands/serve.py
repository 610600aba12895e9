from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidentdesk.core import logs, processes
from incidentdesk.core.signals import serve_starting

# a worker mid-batch finishes it before stopping: batches end at half the delivery lease
DRAIN_SECONDS = settings.DELIVERY_LEASE_SECONDS // 2 + 15


class WorkerKeeper:
    """The task worker beside the web server: restarted when it dies, stopped exactly once.

    The worker runs in a session of its own, so a signal sent to `serve`'s whole process group
    (Ctrl-C, systemd's stop) reaches it once, from here, as one SIGTERM: a graceful drain that
    finishes the batch in hand. Two signals would mean "stop now", mid-batch."""

    def __init__(self, stdout: Any) -> None:
        self.stdout = stdout
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
                f"The task worker stopped (exit {code}); restarting in {backoff:.0f} s."
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
            process.wait(timeout=DRAIN_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = "Serve the web application (granian, WSGI) and run a task worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="web processes"
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start a task worker")

    def execute(self, *args: Any, **options: Any) -> Any:
        # before the system checks load the URLs (and with them the metrics): its web
        # processes count requests into one directory (core/processes.py)
        if not os.environ.get(processes.MULTIPROC_ENV):
            processes.prepare_multiprocess_dir(settings.DATA_DIR)
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        from granian import Granian
        from granian.constants import Interfaces

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not set up: run 'incidentdesk init' first.")
        # what must be ready before the first request: the status page's prepared front,
        # which the web processes serve before Django, is never missing or stale at start
        serve_starting.send(sender=self.__class__)
        connection.close()
        # the web processes stop when this process is gone, however it ended (wsgi.py)
        os.environ["INCIDENTDESK_PARENT_PID"] = str(os.getpid())
        keeper = None
        if not options["no_worker"]:
            keeper = WorkerKeeper(self.stdout)
            keeper.start()
        self.stdout.write(
            f"IncidentDesk on http://{options['host']}:{options['port']}/", ending="\n"
        )
        self.stdout.flush()
        try:
            Granian(
                target="incidentdesk.wsgi:application",
                address=options["host"],
                port=options["port"],
                interface=Interfaces.WSGI,
                workers=max(1, options["workers"]),
                static_path_route=[settings.STATIC_URL.rstrip("/")],
                static_path_mount=[settings.STATIC_ROOT],
                log_access=False,
                log_dictconfig=logs.server_logging(settings.LOG_FORMAT),
            ).serve()
        finally:
            if keeper is not None:
                keeper.stop()
