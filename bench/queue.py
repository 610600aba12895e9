"""The team's queue with 100,000 incidents: first page and a deep page, against /healthz.

Loads the incidents with bulk inserts into a temporary SQLite database (or the PostgreSQL
database in INCIDENTDESK_DATABASE_URL, which it empties first), then times the queue view
through Django's test client. Run: .venv/bin/python bench/queue.py [TOTAL [OPEN_SHARE]]
(defaults 100000 and 0.02: the share of incidents still open).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

# this file is named like the standard library's `queue`: keep its folder off the import path
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

TOTAL = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
OPEN_SHARE = float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
REPEAT = 15

TEMP_DIR = None
if "INCIDENTDESK_DATA_DIR" not in os.environ:
    TEMP_DIR = tempfile.mkdtemp(prefix="bench-queue-")
    os.environ["INCIDENTDESK_DATA_DIR"] = TEMP_DIR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from incidentdesk.accounts.models import User  # noqa: E402
from incidentdesk.accounts.services import user_create  # noqa: E402
from incidentdesk.incidents import queue_order, views  # noqa: E402
from incidentdesk.incidents.models import Incident  # noqa: E402
from incidentdesk.policy.selectors import active_version  # noqa: E402


def load() -> User:
    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE incidents_incident CASCADE")
    member = User.objects.filter(email="bench@spacewise.test").first() or user_create(
        by=None, email="bench@spacewise.test", password="bench-password-123", role="member"
    )
    version = active_version()
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    open_statuses = ["reported", "triaged", "investigating", "identified", "monitoring"]
    batch: list[Incident] = []
    started = time.perf_counter()
    for n in range(TOTAL):
        reported = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 365))
        is_open = rng.random() < OPEN_SHARE
        status = rng.choice(open_statuses) if is_open else rng.choice(["closed", "resolved"])
        severity = "" if status == "reported" else rng.choice(["P1", "P2", "P3"])
        batch.append(
            Incident(
                title=f"Incident number {n} in {rng.choice(['checkout', 'search', 'login'])}",
                type="" if not severity else rng.choice(["functionality", "performance"]),
                severity=severity,
                impact="" if not severity else "few",
                status=status,
                assignee=member if rng.random() < 0.5 else None,
                policy_version=version,
                reported_at=reported,
                acknowledged_at=None if status == "reported" else reported,
                ack_due_at=reported + dt.timedelta(hours=1),
                update_due_at=reported + dt.timedelta(hours=4) if is_open else None,
                resolve_due_at=reported + dt.timedelta(days=1),
                updated_at=reported,
            )
        )
        if len(batch) == 5000:
            Incident.objects.bulk_create(batch)
            batch.clear()
    Incident.objects.bulk_create(batch)
    print(f"loaded {TOTAL:,} incidents in {time.perf_counter() - started:.1f} s")
    return member


def timed(client: Client, url: str) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 204), (url, response.status_code)
    return statistics.median(times)


def deep_cursor(sort: str, depth: int) -> str:
    qs = queue_order.annotate_queue(Incident.objects.exclude(status__in=["resolved", "closed"]))
    keys = queue_order.SORTS[sort].keys
    order = [f"-{k}" if desc else k for k, desc in keys]
    row = qs.order_by(*order)[depth]
    if keys == (("id", True),):
        from incidentdesk.incidents.selectors import encode_cursor

        return encode_cursor(row.pk)
    return queue_order._encode_keys([getattr(row, k) for k, _ in keys])


def main() -> None:
    setup_test_environment()
    member = load()
    client = Client()
    client.force_login(member)
    open_count = Incident.objects.exclude(status__in=["resolved", "closed"]).count()
    depth = open_count - 60
    cases = [
        ("/healthz (baseline)", "/healthz"),
        ("queue, first page (needs attention)", "/"),
        (
            f"queue, deep page at row {depth:,} (needs attention)",
            f"/?after={deep_cursor('attention', depth)}",
        ),
        ("queue, first page (newest)", "/?sort=newest"),
        (
            f"queue, deep page at row {depth:,} (newest)",
            f"/?sort=newest&after={deep_cursor('newest', depth)}",
        ),
        ("queue, all statuses, first page (newest)", "/?status=all&sort=newest"),
        ("queue, unassigned P1", "/?severity=P1&assignee=none"),
        ("queue live poll, nothing changed", f"/queue/live?stamp={views.queue_stamp()}"),
        ("incident page", f"/incidents/INC-{Incident.objects.order_by('-id').first().pk}"),
    ]
    base = None
    print(f"{connection.vendor}, {TOTAL:,} incidents, {open_count:,} open; median of {REPEAT}")
    print(f"{'request':<55} {'ms':>8} {'x healthz':>10}")
    for label, url in cases:
        ms = timed(client, url)
        base = base or ms
        print(f"{label:<55} {ms:8.1f} {ms / base:10.1f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if TEMP_DIR:
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
