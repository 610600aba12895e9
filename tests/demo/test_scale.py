"""`incidentdesk demo --scale N` as a user runs it: the real command in a subprocess, on the
suite's database engine (a fresh PostgreSQL database of its own in the PostgreSQL run), then
the counts, the chains and the pages of what it wrote."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tests.core.test_faults import Product, database_url  # noqa: F401 (a fixture)

COUNT = 200

FACTS = """
import json
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.services import compute_due
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.reviews.models import ActionItem, Review
from incidentdesk.reviews.services import next_remind_on
from incidentdesk.comms.models import Delivery
from incidentdesk.statuspage.models import Publication, ComponentStatusChange
from django.db.models import Count
wrong = []
# the periodic checks run at the end of the generation move these on where they wrote
moved = set(TimelineEntry.objects.filter(kind__in=["sla_due_soon", "sla_breached", "review_due"])
            .values_list("incident_id", flat=True))
for i in Incident.objects.select_related("policy_version").exclude(pk__in=moved):
    stored = (i.sla_check_at, i.review_check_on)
    compute_due(i, policy_for(i))
    if stored[0] != i.sla_check_at or (i.status != "closed" and stored[1] != i.review_check_on):
        wrong.append(i.ref)
items = list(ActionItem.objects.all())
print(json.dumps({
    "incidents": Incident.objects.count(),
    "statuses": dict(Incident.objects.values_list("status").annotate(n=Count("id"))),
    "severities": dict(Incident.objects.values_list("severity").annotate(n=Count("id"))),
    "orgs": Incident.objects.values("reporter_org").distinct().count(),
    "entries": TimelineEntry.objects.count(),
    "kinds": sorted(set(TimelineEntry.objects.values_list("kind", flat=True))),
    "sent": Delivery.objects.filter(state="sent").count(),
    "reviews": Review.objects.filter(state="published").count(),
    "items": len(items),
    "reminders_wrong": [a.pk for a in items if a.remind_on != next_remind_on(a)],
    "due_wrong": wrong,
    "publications": Publication.objects.count(),
    "component_changes": ComponentStatusChange.objects.count(),
    "closed": Incident.objects.filter(status="closed").order_by("-id").values_list("id", flat=True).first(),
}))
"""


def _session(base: str, email: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    form = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": password}
    request = urllib.request.Request(
        f"{base}/login/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": base}
    )
    assert "/login/" not in opener.open(request, timeout=30).geturl()
    return opener


def test_demo_scale_writes_realistic_history_that_verifies_and_opens(
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> None:
    product = Product(tmp_path, database_url, smtp_port=1)
    product.cli("init")
    done = subprocess.run(
        [sys.executable, "-m", "incidentdesk.cli", "demo", "--scale", str(COUNT)],
        env=product.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"Generated {COUNT} incidents with" in done.stdout
    assert f"{COUNT}/{COUNT} incidents" in done.stderr  # the progress bar

    facts = json.loads(product.cli("manage", "shell", "--no-imports", "-c", FACTS))
    assert facts["incidents"] >= COUNT
    assert {"closed", "resolved", "rejected"} <= set(facts["statuses"])
    assert len(set(facts["statuses"]) & {"reported", "triaged", "investigating"}) >= 1
    assert {"P1", "P2", "P3"} <= set(facts["severities"])
    assert facts["orgs"] >= 10
    assert facts["entries"] >= 10 * COUNT
    assert {"reported", "note", "status_changed", "public_update", "delivered", "resolved",
            "closed", "review_published", "action_item_added"} <= set(facts["kinds"])  # fmt: skip
    assert facts["sent"] >= 2 * COUNT
    assert facts["reviews"] >= 10 and facts["items"] >= facts["reviews"]
    assert facts["publications"] >= 5 and facts["component_changes"] >= 10
    assert facts["reminders_wrong"] == [] and facts["due_wrong"] == []

    verified = product.cli("timeline", "verify")
    assert f"OK: {facts['incidents']} timelines intact" in verified

    base = product.serve()
    try:
        team = _session(base, "manager@spacewise.example", "spacewise-demo")
        queue = team.open(f"{base}/", timeout=30).read().decode()
        assert "INC-" in queue
        ref = f"INC-{facts['closed']}"
        page = team.open(f"{base}/incidents/{ref}", timeout=30).read().decode()
        assert ref in page and "Closed" in page
        status = urllib.request.urlopen(f"{base}/status/", timeout=30).read().decode()
        assert "Checkout" in status
        token = product.cli("token", "create", "--email", "alex@spacewise.example").strip()
        request = urllib.request.Request(
            f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}
        )
        listed = json.loads(urllib.request.urlopen(request, timeout=30).read())
        assert listed["items"] and listed["items"][0]["ref"].startswith("INC-")
    finally:
        product.stop()


CHECKS = """
import datetime as dt, json
from incidentdesk.comms.models import Delivery
from incidentdesk.core import clock
from incidentdesk.incidents.models import TimelineEntry
from incidentdesk.incidents.services import incident_sla_check
from incidentdesk.reviews.services import action_item_reminders, review_due_check
from incidentdesk.statuspage.services.maintenance import maintenance_tick
before = TimelineEntry.objects.count(), Delivery.objects.count()
with clock.frozen(dt.datetime.fromisoformat(%r)):
    ran = {f.__name__: f() for f in (
        incident_sla_check, review_due_check, action_item_reminders, maintenance_tick)}
print(json.dumps({"ran": ran, "entries": TimelineEntry.objects.count() - before[0],
                  "deliveries": Delivery.objects.count() - before[1]}))
"""


def test_demo_scale_leaves_nothing_due_for_the_periodic_checks(
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> None:
    """Generated history is one the worker had been running through: the SLA clocks, review
    due dates and action item reminders that fell due in it were written, so the first run of
    each periodic check afterwards finds nothing to do. The checks run at a moment before the
    command started, so what falls due while the test runs cannot be mistaken for a leftover."""
    product = Product(tmp_path, database_url, smtp_port=1)
    product.cli("init")
    started = datetime.now(UTC)
    done = subprocess.run(
        [sys.executable, "-m", "incidentdesk.cli", "demo", "--scale", "300"],
        env=product.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(
        product.cli("manage", "shell", "--no-imports", "-c", CHECKS % started.isoformat())
    )
    assert found == {
        "ran": {
            "incident_sla_check": 0,
            "review_due_check": 0,
            "action_item_reminders": 0,
            "maintenance_tick": 0,
        },
        "entries": 0,
        "deliveries": 0,
    }
    caught = re.search(r"Periodic checks caught up: (\d+) written", done.stdout)
    assert caught is not None and int(caught.group(1)) > 0, done.stdout
    assert "OK:" in product.cli("timeline", "verify")
