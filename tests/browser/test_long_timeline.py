"""An incident after an update to thousands of recipients, in a real browser at phone and
desktop widths: the deliveries are one line, the people's entries are listed, a colleague's
note arrives at the top by the live poll, and older deliveries are a link away."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents import services as s
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.incidents.test_long_timeline import add_deliveries


@pytest.mark.parametrize("width", [375, 1280])
def test_long_timeline_is_summed_up_paged_and_live(new_page, live_server, width):
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    colleague = user_create(by=None, email="sam@spacewise.test", password=PASSWORD, role="member")
    nora = user_create(
        by=None, email="nora@northwind.test", password=PASSWORD, role="stakeholder",
        org_name="Northwind",
    )  # fmt: skip
    incident = s.incident_report(by=nora, title="Checkout fails")
    s.incident_add_note(by=member, incident=incident, body="Looking at the load balancer")
    add_deliveries(incident, 2_000, failed=3)

    page = new_page(width=width)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/incidents/{incident.ref}#timeline")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("2,000 deliveries: 1,997 sent, 3 failed")
    expect(page.locator("#timeline-entries li:not(.timeline-empty)")).to_have_count(2)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0

    s.incident_add_note(by=colleague, incident=incident, body="Rolled back release 42")
    first = page.locator("#timeline-entries li").first
    expect(first).to_contain_text("Wrote an internal note", timeout=10_000)
    expect(page.locator("#timeline-entries li:not(.timeline-empty)")).to_have_count(3)

    page.get_by_label("Show").select_option("delivered")
    page.get_by_role("button", name="Filter").click()
    listed = page.locator("#timeline-entries li:not(.timeline-empty)")
    expect(listed).to_have_count(50)
    expect(listed.first).to_contain_text("reader1999@")
    page.get_by_role("link", name="Older entries").click()
    expect(listed.first).to_contain_text("reader1949@")
    expect(listed).to_have_count(50)
