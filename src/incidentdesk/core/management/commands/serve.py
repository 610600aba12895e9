from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Serve the web application (granian, WSGI) and run a task worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="web processes"
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start a task worker")

    def handle(self, *args: Any, **options: Any) -> None:
        from granian import Granian
        from granian.constants import Interfaces

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not set up: run 'incidentdesk init' first.")
        connection.close()
        worker = None
        if not options["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "incidentdesk.cli", "worker"])
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
            ).serve()
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
