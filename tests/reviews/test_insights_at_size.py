"""Insights and the queue's counts after years of history: the default insights range shows
the newest incidents only, and the queue counts finished incidents up to a cap, so both cost
the same however many incidents exist (the limits are lowered here to keep the test small)."""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidentdesk.core import clock
from incidentdesk.incidents import selectors
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident
from incidentdesk.reviews import insights

from .helpers import worked_incident


def _incidents(member, count: int, *, start: int) -> None:
    now = clock.now()
    for i in range(start, start + count):
        worked_incident(
            member,
            reported=now - dt.timedelta(days=60 - i, hours=3),
            title=f"Checkout fails in store {i}",
            resolve=90,
        )


def _insights(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/insights/")
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def test_default_insights_show_the_newest_incidents_at_the_same_cost(
    client, manager, member, monkeypatch
):
    monkeypatch.setattr(insights, "DEFAULT_LATEST", 4)
    client.force_login(manager)
    _incidents(member, 3, start=0)
    body, few = _insights(client)
    assert "<strong>3</strong>" in body and "these figures are for the newest" not in body

    _incidents(member, 9, start=3)
    body, many = _insights(client)
    assert many <= few
    assert "<strong>4</strong>" in body
    assert "hold more than 4 incidents: these figures are for the newest 4" in body
    oldest_shown = Incident.objects.order_by("-reported_at")[3].reported_at
    assert f"reported since {timezone.localtime(oldest_shown):%Y-%m-%d %H:%M}" in body

    # the export, a file the user asks for, and dates the user chooses cover every incident
    assert json.loads(client.get("/insights/metrics.json").content)["incidents"] == 12
    today = clock.now().date()
    chosen = client.get(f"/insights/?from={today - dt.timedelta(days=90)}&to={today}")
    assert "<strong>12</strong>" in chosen.content.decode()
    assert "these figures are for the newest" not in chosen.content.decode()


def test_queue_counts_finished_incidents_up_to_a_cap(client, member, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    _incidents(member, 5, start=0)  # resolved
    s.incident_report(by=member, title="Tills are offline", description="All stores.")
    client.force_login(member)
    body = client.get("/").content.decode()
    assert 'Resolved <span class="badge badge-muted">3+</span>' in body
    assert 'Open <span class="badge badge-info">1</span>' in body
    assert 'Reported <span class="badge badge-muted">1</span>' in body
    assert 'Closed <span class="badge badge-muted">0</span>' in body
