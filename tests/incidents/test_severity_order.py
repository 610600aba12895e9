"""Severities sort in the order the policy lists them (most severe first), never as names
sorted as strings: a policy whose names sort otherwise ("high", "medium", "low")."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest
from django.test import Client

from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.queue_order import SORTS, annotate_queue, keyset_page
from incidentdesk.incidents.selectors import IncidentFilters, incident_list_for
from incidentdesk.policy.services import policy_activate_text
from incidentdesk.reviews.insights import figures

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NAMES = {"P1": "high", "P2": "medium", "P3": "low"}


@pytest.fixture
def named_policy(manager):
    text = resources.files("incidentdesk.policy").joinpath("default_policy.toml").read_text()
    text = re.sub(r"\bP([123])\b", lambda m: NAMES[m.group(0)], text)
    policy_activate_text(by=manager, text=text, source="severity names")


@pytest.fixture
def incidents(named_policy, member):
    """Reported oldest first: low, high, (not categorized), medium."""
    made = {}
    with clock.frozen(T0) as c:
        for n, severity in enumerate(["low", "high", "", "medium"]):
            c.set(T0 + dt.timedelta(minutes=n))
            incident = s.incident_report(by=member, title=f"Outage {severity or 'new'}")
            if severity:
                s.incident_categorize(
                    by=member, incident=incident, type="functionality", severity=severity,
                    impact="few", reason="As seen.",
                )  # fmt: skip
            made[severity] = incident
    return made


def test_the_queue_needing_attention_follows_the_policy_order(incidents, member):
    qs = annotate_queue(incident_list_for(member, IncidentFilters()))
    seen, cursor = [], None
    while True:  # one incident a page: each page's cursor carries the severity's place
        page, cursor = keyset_page(qs, SORTS["attention"], cursor, 1)
        seen += [i.severity for i in page]
        if cursor is None:
            break
    assert seen == ["", "high", "medium", "low"]


def test_the_queue_page_lists_high_before_low(incidents, member):
    client = Client()
    client.force_login(member)
    with clock.frozen(T0 + dt.timedelta(minutes=10)):
        html = client.get("/?sort=attention").content.decode()
    refs = [incidents[name].ref for name in ["", "high", "medium", "low"]]
    places = [html.index(f">{ref}</a>") for ref in refs]
    assert places == sorted(places)


def test_insights_count_severities_in_the_policy_order(incidents, manager):
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        result = figures(manager, T0.date(), T0.date())
    assert list(result["counts"]["by_severity"]) == ["high", "medium", "low", "uncategorized"]
    for figure in result["durations"]:
        assert list(figure["by_severity"]) == ["high", "medium", "low", "uncategorized"]
