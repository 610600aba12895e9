"""Planned work in a real browser: a member schedules the window of a Maintenance incident
from its status page page; the team's page and the public status page show it."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.statuspage import services as statuspage
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD


def test_member_schedules_the_window_of_a_maintenance_incident(new_page, live_server):
    manager = user_create(by=None, email="mia@spacewise.test", password=PASSWORD, role="manager")
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    statuspage.component_create(by=manager, name="Checkout")
    incident = s.incident_report(by=member, title="Checkout platform upgrade")
    s.incident_categorize(
        by=member, incident=incident, type="maintenance", severity="P3", impact="few", reason="r"
    )
    start = (clock.now() + dt.timedelta(days=3)).replace(hour=22, minute=0, second=0)

    page = new_page()
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/incidents/{incident.ref}")
    expect(page.locator("#incident-header")).to_contain_text("No maintenance window scheduled")
    page.get_by_role("link", name="Schedule it on the status page").click()

    window = page.get_by_role("region", name="Maintenance window")
    window.get_by_label("Title", exact=True).fill("Checkout platform upgrade")
    window.get_by_label("Description").fill("Checkout may be unavailable for 30 minutes.")
    window.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    ends = start + dt.timedelta(hours=1)
    window.get_by_label("Ends (UTC)").fill(ends.strftime("%Y-%m-%dT%H:%M"))
    window.get_by_label("Checkout").check()
    window.get_by_role("button", name="Schedule maintenance window").click()

    expect(
        page.get_by_text("Maintenance window scheduled; it is on the status page.")
    ).to_be_visible()
    window = page.get_by_role("region", name="Maintenance window")
    expect(window).to_contain_text("Checkout platform upgrade — ")
    expect(window).to_contain_text("(Scheduled): Checkout")
    screenshot(page, "maintenance-window")

    page.get_by_role("link", name=f"{incident.ref}: Checkout platform upgrade").click()
    header = page.locator("#incident-header")
    expect(header).to_contain_text("Maintenance window “Checkout platform upgrade”")
    expect(page.locator("#timeline")).to_contain_text("Maintenance scheduled")

    page.goto(f"{live_server.url}/status/")
    expect(page.get_by_text("Checkout platform upgrade")).to_be_visible()
