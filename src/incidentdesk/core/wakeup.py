"""Waking a worker's idle lanes when work is queued, on PostgreSQL.

A task queued in a transaction sends `NOTIFY incidentdesk_tasks, '<queue>'` in that same
transaction, so PostgreSQL delivers it when (and only if) the task's row is committed, once
per queue however many tasks the transaction queued. Each worker process holds one LISTEN
connection (`Wakeups`) and wakes the lanes that serve the named queue; an idle lane therefore
waits on an event instead of asking the database ten times a second, and looks anyway after a
slow fallback interval or when a deferred task of its queues falls due. On SQLite nothing is
sent and the lanes keep their polling read (ops/management/commands/worker.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connections
from django_tasks_db.compat import task_enqueued
from django_tasks_db.models import DBTaskResult

log = logging.getLogger("incidentdesk.worker")

CHANNEL = "incidentdesk_tasks"
# how often the listener looks up from an empty wait (to notice it is asked to stop)
LISTEN_TIMEOUT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 10.0


class _Notified:
    """A marker in the transaction's on-commit list: this queue's NOTIFY is already sent in
    it. Rolling back to a savepoint drops both the marker and the NOTIFY sent after it."""

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def __call__(self) -> None:
        pass


def wake_lanes(queues: Iterable[str]) -> None:
    """Tell every worker's lanes serving `queues` that work is ready (on commit, when in a
    transaction); nothing on SQLite."""
    connection = connections[DBTaskResult.objects.db]
    if connection.vendor != "postgresql":
        return
    for queue in set(queues):
        if connection.in_atomic_block and any(
            # (savepoint ids, function, robust): django-stubs knows of two
            isinstance(entry[1], _Notified) and entry[1].queue == queue
            for entry in connection.run_on_commit
        ):
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, queue])
        if connection.in_atomic_block:
            connection.on_commit(_Notified(queue))


def _on_enqueued(sender: Any, task_result: Any, **kwargs: Any) -> None:
    wake_lanes([task_result.task.queue_name])


def connect() -> None:
    task_enqueued.connect(_on_enqueued, dispatch_uid="incidentdesk.core.wakeup")


class Wakeups:
    """One worker process's LISTEN connection, on a thread of its own, waking the lanes that
    registered for the queue a notification names. While it has no connection (the database
    restarting) the lanes fall back on their slow poll; once it listens again it wakes them
    all, since a notification sent in between is lost."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.running = True
        self.lanes: list[tuple[Callable[[str], bool], threading.Event]] = []
        self.lock = threading.Lock()

    def register(self, serves: Callable[[str], bool]) -> threading.Event:
        """An event set whenever a task of a queue `serves` accepts may be ready."""
        event = threading.Event()
        event.set()  # until the listener listens, a lane looks for itself
        with self.lock:
            self.lanes.append((serves, event))
        return event

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="wakeups").start()

    def _wake(self, queue: str | None) -> None:
        with self.lock:
            for serves, event in self.lanes:
                if queue is None or serves(queue):
                    event.set()

    def _run(self) -> None:
        backoff = 0.5
        while self.running:
            wrapper = connections.create_connection(self.alias)
            try:
                wrapper.ensure_connection()
                raw = wrapper.connection
                raw.execute(f"LISTEN {CHANNEL}")
                self._wake(None)
                backoff = 0.5
                while self.running:
                    for note in raw.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                        self._wake(note.payload)
            except Exception as exc:
                # psycopg's own errors as well as Django's: the raw connection is used as it is
                log.warning("waiting for queued work by polling: %s", exc)
            finally:
                try:
                    wrapper.close()
                except Exception:
                    log.debug("closing the listening connection failed", exc_info=True)
            if self.running:
                time.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)
