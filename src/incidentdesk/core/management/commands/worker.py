from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from incidentdesk.comms.tasks import LANES
from incidentdesk.core.periodic import enqueue_due_periodic_tasks

log = logging.getLogger("incidentdesk.worker")

TICK_SECONDS = 15
PRUNE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Run a task worker: deliveries, SLA clocks and other background work."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between polls when idle"
        )
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        excluded = ""
        if not options["batch"]:
            threading.Thread(target=self._tick, daemon=True, name="periodic").start()
            # each lane but the first on a thread of its own: a receiver that is slow or down
            # holds up only its own lane, never mail to people
            lanes = LANES[1:]
            for name in lanes:
                threading.Thread(
                    target=self._lane, args=(name, options["interval"]), daemon=True, name=name
                ).start()
            excluded = ",".join(lanes)
        call_command(
            "db_worker",
            queue_name="*",
            exclude_queues=excluded,
            interval=options["interval"],
            batch=options["batch"],
            reload=False,
            startup_delay=False,
            # one line per task run at the default verbosity would drown the console
            verbosity=max(0, options["verbosity"] - 1),
        )

    def _lane(self, name: str, interval: float) -> None:
        worker = Worker(
            queue_names=[name],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}-{name}"[:64],
            excluded_queue_names=[],
        )
        while True:
            try:
                worker.run()
            except Exception:
                log.exception("the %s lane's worker stopped; starting it again", name)
            finally:
                close_old_connections()
            time.sleep(interval or TICK_SECONDS)

    def _tick(self) -> None:
        last_prune = 0.0
        while True:
            try:
                enqueue_due_periodic_tasks()
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    # finished task rows are bookkeeping; the timeline and deliveries keep
                    # the record, so a day of results is enough to inspect failures
                    call_command(
                        "prune_db_task_results",
                        queue_name="*",
                        min_age_days=1,
                        failed_min_age_days=14,
                        verbosity=0,
                    )
                    last_prune = time.monotonic()
            except Exception:
                log.exception("periodic work failed")
            finally:
                close_old_connections()
            time.sleep(TICK_SECONDS)
