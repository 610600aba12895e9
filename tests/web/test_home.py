"""Each role's home page: what needs the manager today, and what is next for a member."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidentdesk.core import clock
from incidentdesk.incidents.roles import incident_assign
from incidentdesk.incidents.services import (
    incident_categorize,
    incident_report,
    incident_request_info,
    incident_resolve,
)
from incidentdesk.reviews.services import action_item_create

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section class="panel" id="{anchor}".*?</section>', html, re.S)
    assert match, anchor
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def _categorized(by, reporter, title, severity="P2"):
    incident = incident_report(by=reporter, title=title)
    incident_categorize(
        by=by,
        incident=incident.ref,
        type="functionality",
        severity=severity,
        impact="few",
        reason="as seen by the team",
    )
    return incident


def test_manager_sees_risk_late_steps_reviews_overdue_items_and_waiting(
    client_for, manager, member, stakeholder
):
    with clock.frozen(START) as now:
        slow = _categorized(manager, stakeholder, "Exports are slow", severity="P3")
        urgent = _categorized(manager, stakeholder, "Checkout is down", severity="P1")
        asked = incident_report(by=stakeholder, title="Login page shows an error")
        incident_request_info(by=member, incident=asked.ref, question="Which browser?")
        done = _categorized(manager, stakeholder, "Search was broken")
        incident_resolve(by=member, incident=done.ref, summary="Index rebuilt.")
        action_item_create(
            by=manager,
            incident=done.ref,
            title="Alert on index size",
            kind="detect",
            owner=member.email,
            due_date=dt.date(2026, 3, 3),
        )
        now.advance(days=8)
        html = client_for(manager).get("/home").content.decode()

    risk = _section(html, "at-risk")
    # the P1's first update was due after 30 minutes, the P3's after a day
    assert risk.index(urgent.ref) < risk.index(slow.ref)
    assert "Next update was due 2 Mar 2026 09:30 UTC (7 days 23 h ago)" in risk
    late = _section(html, "late-steps")
    assert f"{urgent.ref}: Checkout is down Resolve late" in late
    assert f"{asked.ref}: Login page shows an error Acknowledge late" in late
    reviews = _section(html, "reviews-due")
    assert f"{done.ref}: Search was broken" in reviews and "overdue since 9 Mar 2026" in reviews
    overdue = _section(html, "overdue-actions")
    assert "Alert on index size" in overdue and "was due 3 Mar 2026" in overdue
    waiting = _section(html, "waiting")
    assert f"{asked.ref}: Login page shows an error" in waiting
    assert done.ref not in waiting and urgent.ref not in waiting


def test_manager_day_is_calm_without_work(client_for, manager):
    html = client_for(manager).get("/home").content.decode()
    assert "No open incidents." in html
    assert "Every open incident is on time." in html
    assert "No review is waiting." in html
    assert "No action item is overdue." in html


def test_member_sees_their_incidents_with_the_next_step(client_for, manager, member, stakeholder):
    with clock.frozen(START) as now:
        new = incident_report(by=stakeholder, title="Invoices do not load")
        incident_assign(by=manager, incident=new.ref, assignee=member.email)
        triaged = _categorized(manager, stakeholder, "Reports are late")
        incident_assign(by=manager, incident=triaged.ref, assignee=member.email)
        other = incident_report(by=stakeholder, title="Someone else's problem")
        now.advance(minutes=5)
        html = client_for(member).get("/home").content.decode()
    mine = _section(html, "mine")
    assert f"{new.ref}: Invoices do not load" in mine
    assert "Next: Acknowledge the incident and collect all the information" in mine
    assert f"{triaged.ref}: Reports are late" in mine
    assert "Next: Discuss it internally and inform the stakeholders" in mine
    assert other.ref not in mine
    # the manager's lists are the manager's
    assert 'id="at-risk"' not in html


def test_stakeholders_keep_the_portal_and_strangers_log_in(client_for, stakeholder):
    assert client_for(stakeholder).get("/home")["Location"] == "/portal/"
    assert client_for().get("/home")["Location"].startswith("/login/?next=/home")


def test_home_reads_the_same_number_of_queries_however_long_the_history(
    client_for, manager, member, stakeholder
):
    def queries() -> int:
        c = client_for(manager)
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/home").status_code == 200
        return len(ctx.captured_queries)

    with clock.frozen(START) as now:
        open_one = _categorized(manager, stakeholder, "Still open")
        incident_assign(by=manager, incident=open_one.ref, assignee=manager.email)
        before = queries()
        for n in range(6):
            closed = _categorized(manager, stakeholder, f"Old problem {n}", severity="P3")
            incident_resolve(by=member, incident=closed.ref, summary="Fixed.")
        now.advance(hours=1)
        assert queries() == before
