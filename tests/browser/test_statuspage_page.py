"""The public status page in Chromium: readable on a phone and a desktop, the day details
reachable by keyboard, and the team's publish form."""

from __future__ import annotations

import pytest

from incidentdesk.incidents.services import (
    incident_categorize,
    incident_post_update,
    incident_report,
)
from incidentdesk.statuspage import cache, services

from .conftest import login, screenshot

PASSWORD = "correct-horse-battery"


@pytest.fixture
def status_data(manager, member):
    cache.clear()
    services.group_create(by=manager, name="Frontends")
    api = services.component_create(by=manager, name="API", description="The public API")
    services.component_create(by=manager, name="Website", group="Frontends")
    incident = incident_report(by=member, title="Slow API responses")
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api.pk, status="partial_outage"
    )
    services.incident_publish(by=member, incident=incident.ref)
    incident_post_update(
        by=member, incident=incident.ref, status="identified", body="A database node is overloaded."
    )
    return incident


def test_status_page_renders_without_console_errors_on_desktop(page, live_server, status_data):
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("status").first.inner_text().strip() == "Partial System Outage"
    assert page.get_by_role("link", name="Slow API responses").is_visible()
    assert page.get_by_text("A database node is overloaded.").is_visible()
    bars = page.get_by_role("list", name="API: daily status, oldest first")
    assert bars.locator("li").count() == 90
    today = bars.locator("li").last
    today.focus()
    tip = today.locator(".sp-tip")
    assert tip.is_visible()
    assert "Partial outage" in tip.inner_text()
    screenshot(page, "statuspage")


def test_status_page_fits_a_phone_screen(new_page, live_server, status_data):
    phone = new_page(width=375, height=740)
    phone.goto(f"{live_server.url}/status/")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert phone.get_by_text("Partial outage", exact=True).first.is_visible()


def test_status_page_reads_without_javascript(browser, live_server, status_data):
    context = browser.new_context(java_script_enabled=False)
    try:
        nojs = context.new_page()
        nojs.goto(f"{live_server.url}/status/")
        assert "Slow API responses" in nojs.inner_text("main")
    finally:
        context.close()


def test_member_publishes_from_the_management_page(page, live_server, member):
    cache.clear()
    incident = incident_report(by=member, title="Checkout errors")
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/status/manage/incidents/{incident.ref}")
    page.get_by_label("Public title").fill("Checkout is failing")
    page.get_by_role("button", name="Publish on the status page").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("as “Checkout is failing”").is_visible()
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("link", name="Checkout is failing").is_visible()
