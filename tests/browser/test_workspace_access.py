"""Keyboard-only triage, the phone layout, and a stakeholder kept out of team pages."""

from __future__ import annotations

from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents.services import incident_report
from tests.browser.conftest import login
from tests.conftest import PASSWORD


def _setup():
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    nora = user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )
    user_create(
        by=None,
        email="carl@contoso.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Contoso",
    )
    incident = incident_report(by=nora, title="Search is very slow")
    return member, nora, incident


def _tab_to(page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
    raise AssertionError(f"{selector} never received focus by Tab")


def test_keyboard_only_triage_at_phone_width(new_page, live_server):
    member, _, incident = _setup()
    page = new_page(width=375, height=800)
    login(page, live_server.url, member.email, PASSWORD)
    # nothing wider than the screen: no sideways scrolling on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(f"{live_server.url}/incidents/{incident.ref}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    _tab_to(page, "#triage-type")
    page.keyboard.press("ArrowDown")  # Functionality
    page.keyboard.press("ArrowDown")  # Security
    page.keyboard.press("ArrowDown")  # Performance
    # changes made while a suggestion is on its way queue up, the last one wins; wait for it
    page.wait_for_function("document.querySelectorAll('.htmx-request').length === 0")
    expect(page.locator("#triage-suggestion")).to_contain_text("Policy suggests: P3")
    expect(page.locator("#triage-type")).to_have_value("performance")
    # the suggestion arrived without taking the keyboard user's place away
    assert page.evaluate("document.activeElement.id") == "triage-type"
    _tab_to(page, "#triage-severity")
    page.keyboard.press("ArrowUp")  # P2: an override
    _tab_to(page, "#triage-reason")
    page.keyboard.type("Search is our main revenue path")
    _tab_to(page, "#triage-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Categorized as P2")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Reason: Search is our main revenue path")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_stakeholder_cannot_reach_team_pages(page, live_server):
    _, nora, incident = _setup()
    login(page, live_server.url, nora.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_role("link", name="Queue")).to_have_count(0)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/portal/")
    # a team page answers 403 to a stakeholder; asked outside the page, so that the expected
    # refusal is not counted as a failed request of the page
    for path in (f"/incidents/{incident.ref}", "/guidelines/", "/people/"):
        response = page.request.get(f"{live_server.url}{path}", max_redirects=0)
        assert response.status == 403, path
        assert "<h1>Not allowed</h1>" in response.text()
