"""Periodic work: each worker enqueues a periodic task when none is waiting already.

The tasks themselves are idempotent, so two workers enqueueing at once costs one extra run.
They run on a queue of their own, which the worker serves on its own thread: a slow scan
never holds up a delivery, and a fan-out never delays the SLA clocks.
"""

from __future__ import annotations

import importlib

from django_tasks_db.models import DBTaskResult

PERIODIC_QUEUE = "periodic"
PERIODIC_TASKS: list[str] = []
"""Dotted paths of the periodic tasks; each app registers its own in `AppConfig.ready()`."""


def register(path: str) -> None:
    if path not in PERIODIC_TASKS:
        PERIODIC_TASKS.append(path)


def enqueue_due_periodic_tasks() -> int:
    queued = 0
    for path in PERIODIC_TASKS:
        if DBTaskResult.objects.ready().filter(task_path=path).exists():
            continue
        module, name = path.rsplit(".", 1)
        task = getattr(importlib.import_module(module), name)
        task.using(queue_name=PERIODIC_QUEUE).enqueue()
        queued += 1
    return queued
