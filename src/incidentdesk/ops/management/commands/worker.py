from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, OperationalError, close_old_connections, connections
from django.db.models import Min
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from incidentdesk.comms.tasks import LANES
from incidentdesk.core.lifeline import follow_parent
from incidentdesk.core.models import WorkerHeartbeat
from incidentdesk.core.periodic import PERIODIC_QUEUE, enqueue_due_periodic_tasks
from incidentdesk.core.wakeup import Wakeups, wake_lanes

log = logging.getLogger("incidentdesk.worker")

BEAT_SECONDS = 5
TICK_SECONDS = 15
PRUNE_EVERY_SECONDS = 3600
# a worker not seen for this long has stopped: its running tasks go back to the queue
STALE_SECONDS = 60
# the longest wait between two tries while the database does not answer
MAX_BACKOFF_SECONDS = 10.0
# on PostgreSQL, the longest an idle lane waits for a notification before looking anyway
IDLE_POLL_SECONDS = 5.0


class LaneWorker(db_worker.Worker):
    """django-tasks-db's worker for one lane, idle without asking the database all the time.

    On PostgreSQL (given `wakeups`) an idle lane waits until a task of its queues is queued
    (core/wakeup.py: a NOTIFY in the queuing transaction), until a deferred one falls due, or
    at most `idle_poll` seconds; the library's own loop asked the database every `interval`,
    which for a worker's five lanes cost as much processor time as a fan-out's sending.
    On SQLite the library's poll opens an exclusive transaction (BEGIN EXCLUSIVE, after the
    writers' turn, core/sqlite) only to find, most of the time, nothing to do: five lanes twice
    a second, each a turn the web's writers wait behind. There a lane claims with a write only
    when a read saw a task ready."""

    def __init__(
        self, *, wakeups: Wakeups | None = None, idle_poll: float = IDLE_POLL_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.idle_poll = idle_poll
        self.woken = wakeups.register(self._serves) if wakeups is not None else None

    def wake(self) -> None:
        """Look at the queue now (a stop: see `running`)."""
        if self.woken is not None:
            self.woken.set()

    def run(self) -> None:
        if self.woken is not None:
            self._run_woken(self.woken)
            return
        if connections[DBTaskResult.objects.db].vendor != "sqlite":
            super().run()
            return
        while self.running:
            close_old_connections()
            retrieved, task_result = self._claim() if self._ready().exists() else (True, None)
            if task_result is not None:
                self.run_task(task_result)
            elif self.batch and retrieved:
                return
            close_old_connections()
            if self.running and task_result is None:
                time.sleep(self.interval)

    def _run_woken(self, woken: threading.Event) -> None:
        while self.running:
            close_old_connections()
            # cleared before looking: a task queued from now on sets it again
            woken.clear()
            retrieved, task_result = self._claim()
            if task_result is not None:
                self.run_task(task_result)
                continue
            if self.batch and retrieved:
                return
            wait = self._idle_wait()
            close_old_connections()
            if self.running:
                woken.wait(wait)

    def _idle_wait(self) -> float:
        """Seconds until the lane's next deferred task falls due, at most `idle_poll`."""
        due = (
            self._tasks(DBTaskResult.objects.filter(status=TaskResultStatus.READY))
            .filter(run_after__gt=timezone.now())
            .exclude(run_after=get_date_max())
            .aggregate(due=Min("run_after"))["due"]
        )
        if due is None:
            return self.idle_poll
        return max(0.0, min(self.idle_poll, (due - timezone.now()).total_seconds()))

    def _serves(self, queue: str) -> bool:
        return (self.process_all_queues or queue in self.queue_names) and (
            queue not in self.excluded_queue_names
        )

    def _ready(self) -> DBTaskResultQuerySet:
        return self._tasks(DBTaskResult.objects.ready())

    def _tasks(self, tasks: DBTaskResultQuerySet) -> DBTaskResultQuerySet:
        tasks = tasks.filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks

    def _claim(self) -> tuple[bool, DBTaskResult | None]:
        """(whether the queue was read, the task claimed), as the library's own loop does."""
        tasks = self._ready()
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return False, None
                raise
            if task_result is not None:
                task_result.claim(self.worker_id)
        return True, task_result


class Command(BaseCommand):
    help = "Run a task worker: deliveries, SLA clocks and other background work."
    # the system checks import every URL, view and template (about 15 MiB) that a worker
    # never uses; `serve` and `init` run them
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="seconds between polls when idle (SQLite; on PostgreSQL see --idle-poll)",
        )
        parser.add_argument(
            "--idle-poll",
            type=float,
            default=IDLE_POLL_SECONDS,
            help="on PostgreSQL, where queuing a task wakes the lanes serving it: the longest an "
            "idle lane waits before looking anyway",
        )
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # 24 characters of the host leave room for the lanes' names within 64
        self.worker_id = f"{socket.gethostname()[:24]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.started_at = timezone.now()
        self.lanes: list[tuple[LaneWorker, threading.Thread]] = []
        self.wakeups: Wakeups | None = None
        if not options["batch"] and connections[DBTaskResult.objects.db].vendor == "postgresql":
            self.wakeups = Wakeups(DBTaskResult.objects.db)
            self.wakeups.start()
        excluded = ""
        if not options["batch"]:
            threading.Thread(target=self._tick, daemon=True, name="periodic").start()
            # each lane but the first, and periodic work, on a thread of its own: a receiver
            # that is slow or down, a fan-out or a slow scan holds up only its own lane
            threaded = (*LANES[1:], PERIODIC_QUEUE)
            for name in threaded:
                self._start_lane(name, options)
            excluded = ",".join(threaded)
            # started by `serve`: stop (gracefully, through the signal) when it is gone
            follow_parent()
        try:
            self._run_main_lane(options, excluded)
        finally:
            # the main lane has drained (a stop signal, or --batch done): the other lanes
            # finish the task in hand, then stop
            for worker, _ in self.lanes:
                worker.running = False
                worker.wake()
            if self.wakeups is not None:
                self.wakeups.running = False
            for _, thread in self.lanes:
                thread.join(timeout=120)

    def _run_main_lane(self, options: dict[str, Any], excluded: str) -> None:
        # one line per task run at the default verbosity would drown the console
        db_worker.Command().configure_logging(max(0, options["verbosity"] - 1))
        backoff = 0.5
        while True:
            try:
                worker = LaneWorker(
                    queue_names=["*"],
                    interval=options["interval"],
                    batch=options["batch"],
                    backend_name="default",
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=self.worker_id,
                    excluded_queue_names=excluded.split(",") if excluded else [],
                    wakeups=self.wakeups,
                    idle_poll=options["idle_poll"],
                )
                worker.configure_signals()
                worker.run()
                return
            except DatabaseError as exc:
                # the database went away (restart, fail-over, network): wait and go on; the
                # deliveries wait in the queue, and a stop signal still stops the worker
                log.warning("database unavailable (%s); trying again in %.1f s", exc, backoff)
                _close_connections()
                time.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

    def _start_lane(self, name: str, options: dict[str, Any]) -> None:
        worker = LaneWorker(
            queue_names=[name],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{self.worker_id}-{name}"[:64],
            excluded_queue_names=[],
            wakeups=self.wakeups,
            idle_poll=options["idle_poll"],
        )
        thread = threading.Thread(target=self._lane, args=(worker,), daemon=True, name=name)
        self.lanes.append((worker, thread))
        thread.start()

    def _lane(self, worker: LaneWorker) -> None:
        backoff = 0.5
        while worker.running:
            try:
                worker.run()
                backoff = 0.5
            except DatabaseError as exc:
                log.warning("the %s lane waits for the database: %s", worker.queue_names[0], exc)
            except Exception:
                log.exception(
                    "the %s lane's worker stopped; starting it again", worker.queue_names[0]
                )
            finally:
                _close_connections()
            if worker.running:
                time.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

    def _beat(self) -> None:
        now = timezone.now()
        ids = [self.worker_id] + [worker.worker_id for worker, _ in self.lanes]
        for worker_id in ids:
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker_id,
                defaults={
                    "host": socket.gethostname()[:255],
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "seen_at": now,
                },
            )

    def _tick(self) -> None:
        last_tick = last_prune = 0.0
        while True:
            try:
                self._beat()
                if time.monotonic() - last_tick >= TICK_SECONDS:
                    last_tick = time.monotonic()
                    enqueue_due_periodic_tasks()
                    requeue_tasks_of_stopped_workers()
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
                    WorkerHeartbeat.objects.filter(
                        seen_at__lt=timezone.now() - dt.timedelta(days=1)
                    ).delete()
                    last_prune = time.monotonic()
            except DatabaseError as exc:
                log.warning("periodic work waits for the database: %s", exc)
            except Exception:
                log.exception("periodic work failed")
            finally:
                close_old_connections()
            time.sleep(BEAT_SECONDS)


def _close_connections() -> None:
    for connection in connections.all():
        connection.close()


def requeue_tasks_of_stopped_workers() -> int:
    """Tasks left RUNNING by a worker that stopped beating (killed, its machine gone) are
    made ready again. Tasks are idempotent (deliveries hold leases), so a repeat is safe."""
    cutoff = timezone.now() - dt.timedelta(seconds=STALE_SECONDS)
    alive = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    stuck = [
        task
        for task in DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).only("pk", "worker_ids", "queue_name")[:500]
        if not task.worker_ids or task.worker_ids[-1] not in alive
    ]
    if not stuck:
        return 0
    requeued = DBTaskResult.objects.filter(
        pk__in=[task.pk for task in stuck], status=TaskResultStatus.RUNNING
    ).update(status=TaskResultStatus.READY, started_at=None, run_after=timezone.now())
    wake_lanes(task.queue_name for task in stuck)
    log.warning("handed %d task(s) of stopped workers back to the queue", requeued)
    return requeued
