from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidentdesk.core import processes, webserver
from incidentdesk.core.signals import serve_starting

# a worker mid-batch finishes it before stopping: batches end at half the delivery lease
DRAIN_SECONDS = settings.DELIVERY_LEASE_SECONDS // 2 + 15


class Command(BaseCommand):
    help = "Serve the web application (granian, WSGI) and run a task worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            "--workers",
            dest="processes",
            type=int,
            default=webserver.default_processes(),
            help="web processes (default: INCIDENTDESK_WEB_PROCESSES, else 1)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=webserver.default_threads(),
            help="threads per web process (default: INCIDENTDESK_WEB_THREADS, else 8)",
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start a task worker")

    def execute(self, *args: Any, **options: Any) -> Any:
        # before the system checks load the URLs (and with them the metrics): its web
        # processes count requests into one directory (core/processes.py)
        if not os.environ.get(processes.MULTIPROC_ENV):
            processes.prepare_multiprocess_dir(settings.DATA_DIR)
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not set up: run 'incidentdesk init' first.")
        # what must be ready before the first request: the status page's prepared front,
        # which the web processes serve before Django, is never missing or stale at start
        serve_starting.send(sender=self.__class__)
        connection.close()
        if options["processes"] < 1 or options["threads"] < 1:
            raise CommandError("--processes and --threads take a whole number of at least 1.")
        run = {
            "host": options["host"],
            "port": options["port"],
            "processes": options["processes"],
            "threads": options["threads"],
            "worker": not options["no_worker"],
            "drain_seconds": DRAIN_SECONDS,
            "static_url": settings.STATIC_URL.rstrip("/"),
            "static_root": str(settings.STATIC_ROOT),
            "log_format": settings.LOG_FORMAT,
        }
        sys.stdout.flush()
        sys.stderr.flush()
        # glibc gives each thread that allocates an arena of its own (up to 8 per core); two
        # are plenty for a web process's few busy threads and keep its memory from spreading
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        # the same process, without Django: it only starts and watches the others
        os.execv(
            sys.executable,
            [sys.executable, "-m", "incidentdesk.core.webserver", json.dumps(run)],
        )
