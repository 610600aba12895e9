"""The demo carries a history of reviewed incidents, so the insights pages have figures."""

from __future__ import annotations

from incidentdesk.accounts.models import User
from incidentdesk.demo.loader import load
from incidentdesk.incidents.models import Incident
from incidentdesk.reviews.demo import load_history
from incidentdesk.reviews.insights import figures, parse_range
from incidentdesk.reviews.models import ActionItem, Review


def test_demo_history_fills_the_insights_once(db):
    assert load() is True
    count = Incident.objects.count()
    assert load_history() is False
    assert Incident.objects.count() == count
    assert Review.objects.filter(state="published").count() >= 7
    assert ActionItem.objects.filter(status="done").exists()
    manager = User.objects.get(email="manager@spacewise.example")
    f = figures(manager, *parse_range(None, None))
    assert f["incidents"] >= 13
    resolve = next(d for d in f["durations"] if d["key"] == "resolve")
    assert resolve["overall"]["count"] >= 12
    assert f["reopen"]["reopened"] == 1
    assert f["recurrence"]["recurring"] >= 1
    missed = [m["title"] for m in f["conformance"]["steps"][2]["missed"]]
    assert "Loyalty points missing on receipts" in missed
