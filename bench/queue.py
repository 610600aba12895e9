"""The team's queue with 100,000 incidents: first page and a deep page, against /healthz.

Loads the incidents with bulk inserts into a temporary SQLite database (or the PostgreSQL
database in INCIDENTDESK_DATABASE_URL, which it empties first), then times the queue view
through Django's test client. Run: .venv/bin/python bench/queue.py [TOTAL [OPEN_SHARE]]
(defaults 100000 and 0.02: the share of incidents still open).

`bench/queue.py --search [SMALL [LARGE]]` times searches that match nothing (the queue's, the
API's and the similar-incident search) at SMALL incidents, loads up to LARGE in the same
database and times them again, and prints the ratio (defaults 1000 and 100000).
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

SEARCH = sys.argv[1:2] == ["--search"]
ARGS = sys.argv[2:] if SEARCH else sys.argv[1:]
TOTAL = int(ARGS[0]) if ARGS else 100_000
OPEN_SHARE = float(ARGS[1]) if len(ARGS) > 1 and not SEARCH else 0.02
SEARCH_SIZES = (
    (int(ARGS[0]) if ARGS else 1_000, int(ARGS[1]) if len(ARGS) > 1 else 100_000)
    if SEARCH
    else (0, 0)
)
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
from incidentdesk.policy.services import policy_sync_from_file  # noqa: E402

WORDS = ["checkout", "search", "login", "payments", "mail", "reports", "export", "api"]
SYMPTOMS = ["fails", "slow", "times out", "returns errors", "shows stale data", "is down"]


def load(total: int = TOTAL, *, fresh: bool = True) -> User:
    if fresh:
        call_command("migrate", verbosity=0)
    if fresh and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE incidents_incident CASCADE")
    member = User.objects.filter(email="bench@spacewise.test").first() or user_create(
        by=None, email="bench@spacewise.test", password="bench-password-123", role="member"
    )
    version = policy_sync_from_file()
    rng = random.Random(7 + Incident.objects.count())
    now = dt.datetime.now(dt.UTC)
    open_statuses = ["reported", "triaged", "investigating", "identified", "monitoring"]
    batch: list[Incident] = []
    started = time.perf_counter()
    for n in range(total):
        reported = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 365))
        is_open = rng.random() < OPEN_SHARE
        status = rng.choice(open_statuses) if is_open else rng.choice(["closed", "resolved"])
        severity = "" if status == "reported" else rng.choice(["P1", "P2", "P3"])
        batch.append(
            Incident(
                title=f"Incident number {n} in {rng.choice(['checkout', 'search', 'login'])}",
                description=(
                    f"Customers report that {rng.choice(WORDS)} {rng.choice(SYMPTOMS)} "
                    f"for {rng.choice(WORDS)} since the release."
                ),
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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # the statistics autovacuum keeps on a running database, taken now
            cursor.execute("ANALYZE incidents_incident")
    print(f"loaded {total:,} incidents in {time.perf_counter() - started:.1f} s")
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
    return queue_order._encode_keys([getattr(row, k) for k, _ in keys])


def main() -> None:
    setup_test_environment()
    member = load()
    client = Client()
    client.force_login(member)
    manager = Client()
    manager.force_login(
        User.objects.filter(email="bench-manager@spacewise.test").first()
        or user_create(
            by=None,
            email="bench-manager@spacewise.test",
            password="bench-password-123",
            role="manager",
        )
    )
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
        ("your day (/home), a member", "/home"),
        ("your day (/home), the manager", ("/home", manager)),
    ]
    base = None
    print(f"{connection.vendor}, {TOTAL:,} incidents, {open_count:,} open; median of {REPEAT}")
    print(f"{'request':<55} {'ms':>8} {'x healthz':>10}")
    for label, case in cases:
        url, who = case if isinstance(case, tuple) else (case, client)
        ms = timed(who, url)
        base = base or ms
        print(f"{label:<55} {ms:8.1f} {ms / base:10.1f}")


def timed_call(call) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def search_costs(client: Client, token: str) -> dict[str, float]:
    """Searches for a word no incident has, each timed (median of REPEAT)."""
    from incidentdesk.incidents.search import ranked_incident_ids

    nothing = "zanzibar"
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    from incidentdesk.incidents.selectors import IncidentFilters, incident_list_for

    member = User.objects.get(email="bench@spacewise.test")
    open_ = ",".join(["reported", "triaged", "investigating", "identified", "monitoring"])
    return {
        "the queue's search query, first page (newest)": timed_call(
            lambda: queue_order.keyset_page(
                incident_list_for(member, IncidentFilters(q=nothing)),
                queue_order.SORTS["newest"],
                None,
                50,
            )
        ),
        "the queue's search query, open, needs attention": timed_call(
            lambda: queue_order.keyset_page(
                queue_order.annotate_queue(
                    incident_list_for(member, IncidentFilters(q=nothing, status=open_))
                ),
                queue_order.SORTS["attention"],
                None,
                50,
            )
        ),
        "queue page (open), search matching nothing": timed(client, f"/?q={nothing}"),
        "queue page (all statuses), search matching nothing": timed(
            client, f"/?status=all&sort=newest&q={nothing}"
        ),
        "API /api/v1/incidents?q=, matching nothing": timed(api, f"/api/v1/incidents?q={nothing}"),
        "similar incidents (ranked), matching nothing": timed_call(
            lambda: ranked_incident_ids(f"{nothing} quokka")
        ),
    }


def search_main() -> None:
    from incidentdesk.accounts.services import token_create

    setup_test_environment()
    small, large = SEARCH_SIZES
    member = load(small)
    token = token_create(by=member, user=member, name="bench")[0]
    client = Client()
    client.force_login(member)
    before = search_costs(client, token)
    load(large - small, fresh=False)
    after = search_costs(client, token)
    print(f"{connection.vendor}: searches matching nothing; median of {REPEAT} (ms)")
    print(f"{'request':<50} {small:>10,} {large:>10,} {'ratio':>7}")
    for label, ms in before.items():
        print(f"{label:<50} {ms:10.2f} {after[label]:10.2f} {after[label] / ms:7.2f}")


if __name__ == "__main__":
    try:
        search_main() if SEARCH else main()
    finally:
        if TEMP_DIR:
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
