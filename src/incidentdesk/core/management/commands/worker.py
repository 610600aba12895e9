from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from incidentdesk.core.periodic import enqueue_due_periodic_tasks

log = logging.getLogger("incidentdesk.worker")


class Command(BaseCommand):
    help = "Run a task worker: deliveries, SLA clocks and other background work."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between polls when idle"
        )
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["batch"]:
            threading.Thread(target=self._tick, daemon=True, name="periodic").start()
        call_command(
            "db_worker",
            queue_name="*",
            interval=options["interval"],
            batch=options["batch"],
            reload=False,
            startup_delay=False,
            verbosity=options["verbosity"],
        )

    def _tick(self) -> None:
        while True:
            try:
                enqueue_due_periodic_tasks()
            except Exception:
                log.exception("could not enqueue periodic tasks")
            finally:
                close_old_connections()
            time.sleep(15)
