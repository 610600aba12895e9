"""Long timelines: an incident with 10,000 entries against one with 10, in the same run.

Two incidents worked the same way by people (reported, acknowledged, categorized, a note, a
status change, a public update); one gets a handful of deliveries, the other ENTRIES (bulk
inserted, chained like the communication plan's), as after an update to 10,000 recipients.
Times through Django's test client, as a member: the incident page, its live poll after one
new entry, the API timeline's first page, and the insights page (before and after the
deliveries). The API's page is SHORT (10) entries for both, so both send as much.
Prints p50 and p99 in milliseconds, the bytes sent, and the ratio of the long
incident's p50 to the short one's (for the insights: after to before).

Run: .venv/bin/python bench/timeline.py [ENTRIES [REPEAT]] (defaults 10000 and 40), on a
temporary SQLite database, or on the PostgreSQL database in INCIDENTDESK_DATABASE_URL (the
bench adds its own users and incidents there and leaves them).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

# bench/queue.py is named like the standard library's `queue`: keep this folder off the path
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 40
SHORT = 10

TEMP_DIR = None
if "INCIDENTDESK_DATA_DIR" not in os.environ:
    TEMP_DIR = tempfile.mkdtemp(prefix="bench-timeline-")
    os.environ["INCIDENTDESK_DATA_DIR"] = TEMP_DIR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from incidentdesk.accounts.models import User  # noqa: E402
from incidentdesk.accounts.services import token_create, user_create  # noqa: E402
from incidentdesk.incidents import services, timeline  # noqa: E402
from incidentdesk.incidents.models import Incident  # noqa: E402
from incidentdesk.policy.services import policy_sync_from_file  # noqa: E402


def person(email: str, role: str, **extra: str) -> User:
    found = User.objects.filter(email=email).first()
    if found is not None:
        return found
    return user_create(by=None, email=email, password="bench-password-123", role=role, **extra)


def worked(member: User, reporter: User, title: str) -> Incident:
    incident = services.incident_report(by=reporter, title=title)
    services.incident_acknowledge(by=member, incident=incident)
    services.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few",
        reason="One organisation",
    )  # fmt: skip
    services.incident_add_note(by=member, incident=incident, body="Looking at the balancer")
    services.incident_set_status(by=member, incident=incident, status="identified")
    services.incident_post_update(
        by=member, incident=incident, status="identified", body="We found the cause."
    )
    incident.refresh_from_db()
    return incident


def deliver(incident: Incident, total: int) -> None:
    """Delivery outcomes up to `total` entries, in bulk, one failure per thousand."""
    count = max(total - incident.timeline_seq, 0)
    items = [
        (
            "delivery_failed" if i % 1000 == 999 else "delivered",
            {
                "trigger": "public_update",
                "audience": "stakeholders",
                "channel": "email",
                "recipient": f"reader{i}@northwind.test",
                "attempts": 1,
            },
        )
        for i in range(count)
    ]
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        timeline.append_generated(locked, items)
        locked.save(
            update_fields=["timeline_seq", "timeline_head", "updated_at", *timeline.DELIVERY_FIELDS]
        )
    incident.refresh_from_db()


def timed(fn: Callable[[], object]) -> tuple[float, float, int]:
    """p50 and p99 in milliseconds over REPEAT runs (after one warm-up), and the bytes sent."""
    response = fn()
    size = len(getattr(response, "content", b""))
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99, size


def row(name: str, short: tuple[float, float, int], long: tuple[float, float, int]) -> None:
    ratio = long[0] / short[0] if short[0] else float("nan")
    print(
        f"{name:<28} {short[0]:7.1f} {short[1]:7.1f} {short[2]:>9,}   "
        f"{long[0]:7.1f} {long[1]:7.1f} {long[2]:>9,}   {ratio:5.2f}"
    )


def main() -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    policy_sync_from_file()
    member = person("bench-timeline@spacewise.test", "member")
    manager = person("bench-timeline-manager@spacewise.test", "manager")
    reporter = person(
        "bench-timeline@northwind.test", "stakeholder", org_name="Northwind (timeline bench)"
    )
    token, _ = token_create(by=member, user=member, name="timeline bench")
    short = worked(member, reporter, "Search is slow")
    long = worked(member, reporter, "Checkout fails")
    deliver(short, SHORT)
    deliver(long, SHORT)
    team, managers = Client(), Client()
    team.force_login(member)
    managers.force_login(manager)

    def page(incident: Incident) -> Callable[[], object]:
        return lambda: team.get(f"/incidents/{incident.ref}")

    def poll(incident: Incident) -> Callable[[], object]:
        query = {"v": incident.version, "since": incident.timeline_seq - 1}
        return lambda: team.get(f"/incidents/{incident.ref}/live", query)

    def api(incident: Incident) -> Callable[[], object]:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        url = f"/api/v1/incidents/{incident.ref}/timeline"
        return lambda: team.get(url, {"limit": SHORT}, **auth)

    def insights() -> object:
        return managers.get("/insights/")

    insights_short = timed(insights)
    started = time.perf_counter()
    deliver(long, ENTRIES)
    loaded = time.perf_counter() - started
    print(
        f"{connection.vendor}: {short.ref} has {short.timeline_seq:,} entries, {long.ref} "
        f"{long.timeline_seq:,} (loaded in {loaded:.1f} s); {REPEAT} requests each"
    )
    print(f"{'ms (bytes)':<28} {'short p50':>9} {'p99':>7} {'bytes':>9}   ", end="")
    print(f"{'long p50':>8} {'p99':>7} {'bytes':>9}   ratio")
    row("incident page", timed(page(short)), timed(page(long)))
    row("live poll, one new entry", timed(poll(short)), timed(poll(long)))
    row(f"API timeline, {SHORT} entries", timed(api(short)), timed(api(long)))
    row("insights (before / after)", insights_short, timed(insights))


if __name__ == "__main__":
    try:
        main()
    finally:
        if TEMP_DIR is not None:
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
