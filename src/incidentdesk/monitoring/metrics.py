"""Prometheus metrics: what the web processes count, and what the database says at each scrape.

Two kinds of figures, kept so that several processes add up:

- Request counts and latencies are counted in each web process. Under `incidentdesk serve`
  its web processes share a directory (`<data dir>/metrics/serve-<pid>`, prometheus_client's
  multiprocess mode, set in `PROMETHEUS_MULTIPROC_DIR`), so whichever process answers a scrape
  reports the sum over all of them, including processes that have since been restarted.
  Behind another WSGI server, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory the same
  way; without it each process reports only its own counts.
- Queue depth, the age of the oldest waiting task, deliveries waiting or failed and the last
  run of each periodic task are read from the database at each scrape, with indexed queries,
  so they are the same whichever process or host answers.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from incidentdesk.comms.models import Delivery, DeliveryState
from incidentdesk.core.periodic import PERIODIC_TASKS
from incidentdesk.core.processes import MULTIPROC_ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Methods a browser or client sends; anything else is counted as "other" so that a caller
# cannot grow the number of series by inventing methods.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "incidentdesk_http_requests",
    "HTTP requests answered, by route (the URL pattern's name), method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "incidentdesk_http_request_duration_seconds",
    "Time from receiving a request to its response being ready, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# the window over which periodic task durations are read at each scrape
PERIODIC_WINDOW_SECONDS = 300


def count_requests(route: str, method: str, status: int, n: int) -> None:
    """`n` answers served without Django (the prepared status page): counted, not timed."""
    method = method if method in METHODS else "other"
    REQUESTS.labels(route=route, method=method, status=str(status)).inc(n)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    count_requests(route, method, status, 1)
    LATENCY.labels(route=route, method=method).observe(seconds)


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape: the same for every process."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        depth = GaugeMetricFamily(
            "incidentdesk_tasks_waiting", "Tasks waiting for a worker, by queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "incidentdesk_tasks_oldest_waiting_seconds",
            "How long the oldest waiting task of each queue has waited.",
            labels=["queue"],
        )
        waiting = (
            DBTaskResult.objects.ready()
            .values("queue_name")
            .annotate(n=Count("id"), oldest=Min("enqueued_at"))
            .order_by()
        )
        seen = {row["queue_name"]: row for row in waiting}
        for queue in _queues(seen):
            row = seen.get(queue)
            depth.add_metric([queue], row["n"] if row else 0)
            oldest = (now - row["oldest"]).total_seconds() if row else 0.0
            age.add_metric([queue], max(0.0, oldest))
        running = GaugeMetricFamily(
            "incidentdesk_tasks_running", "Tasks a worker is running, by queue.", labels=["queue"]
        )
        busy = dict(
            DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
            .values_list("queue_name")
            .annotate(n=Count("id"))
            .order_by()
        )
        for queue in _queues(busy):
            running.add_metric([queue], busy.get(queue, 0))
        yield from (depth, age, running)
        yield self._deliveries()
        yield from self._periodic(now)

    def _deliveries(self) -> GaugeMetricFamily:
        # Sent deliveries are history: counting them would read every delivery ever made at
        # every scrape. The states that need attention are few and indexed (state, due time).
        family = GaugeMetricFamily(
            "incidentdesk_deliveries",
            "Deliveries waiting to be sent, failed, or held after a restore, by state.",
            labels=["state"],
        )
        states = [DeliveryState.QUEUED, DeliveryState.FAILED, DeliveryState.HELD]
        counts = dict(
            Delivery.objects.filter(state__in=states)
            .values_list("state")
            .annotate(n=Count("id"))
            .order_by()
        )
        for state in states:
            family.add_metric([state.value], counts.get(state.value, 0))
        return family

    def _periodic(self, now: dt.datetime) -> Iterator[GaugeMetricFamily]:
        since = now - dt.timedelta(seconds=PERIODIC_WINDOW_SECONDS)
        longest = GaugeMetricFamily(
            "incidentdesk_periodic_task_duration_seconds",
            f"Longest run of each periodic task in the last {PERIODIC_WINDOW_SECONDS} s.",
            labels=["task"],
        )
        last = GaugeMetricFamily(
            "incidentdesk_periodic_task_last_finished_timestamp_seconds",
            "When each periodic task last finished (Unix time), within the last day.",
            labels=["task"],
        )
        runs = (
            DBTaskResult.objects.filter(
                task_path__in=PERIODIC_TASKS,
                status=TaskResultStatus.SUCCESSFUL,
                finished_at__gte=since,
            )
            .values_list("task_path", "started_at", "finished_at")
            .order_by()
        )
        durations: dict[str, float] = {}
        for path, started, finished in runs:
            seconds = (finished - started).total_seconds() if started and finished else 0.0
            durations[path] = max(durations.get(path, 0.0), seconds)
        finished_at = dict(
            DBTaskResult.objects.filter(
                task_path__in=PERIODIC_TASKS, status=TaskResultStatus.SUCCESSFUL
            )
            .values_list("task_path")
            .annotate(at=Max("finished_at"))
            .order_by()
        )
        for path in PERIODIC_TASKS:
            name = path.rsplit(".", 1)[1]
            if path in durations:
                longest.add_metric([name], durations[path])
            if finished_at.get(path) is not None:
                last.add_metric([name], finished_at[path].timestamp())
        yield from (longest, last)


def _queues(found: Iterable[str]) -> list[str]:
    """Every configured queue (shown at 0 when empty, so a graph has no gaps), and any other
    a task row names."""
    configured = [q for backend in settings.TASKS.values() for q in backend.get("QUEUES", [])]
    return list(dict.fromkeys([*configured, *found]))


def render() -> tuple[bytes, str]:
    """The exposition text of one scrape, and its content type."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process())
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE


class _Process(Collector):
    """This process's own metrics, when processes do not share a directory."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
