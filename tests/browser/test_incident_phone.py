"""The incident page on a phone: the next step first, the other sections folded under their
headings; on a desk every section is open."""

from __future__ import annotations

from incidentdesk.incidents.services import incident_report
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD


def test_on_a_phone_the_next_step_comes_first_and_the_rest_folds(
    new_page, live_server, member, stakeholder
):
    incident = incident_report(by=stakeholder, title="Card payments are declined")
    phone = new_page(width=375, height=800, csp=True)
    login(phone, live_server.url, member.email, PASSWORD)
    phone.goto(f"{live_server.url}/incidents/{incident.ref}")
    phone.wait_for_load_state("networkidle")
    next_line = phone.locator(".next-action")
    assert next_line.is_visible()
    assert next_line.bounding_box()["y"] < 800, "the next step is on the first screen"
    # the next step is to assess: that section is open, the others are folded
    assert phone.get_by_role("button", name="Acknowledge").is_visible()
    assert not phone.get_by_label("Note", exact=True).is_visible()
    assert not phone.locator("#timeline").is_visible()
    assert not phone.locator("ol.steps").is_visible()
    phone.get_by_role("heading", name="Internal discussion").click()
    assert phone.get_by_label("Note", exact=True).is_visible()
    phone.locator("summary", has_text="Timeline").click()
    assert phone.locator("#timeline").is_visible()
    assert phone.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    screenshot(phone, "incident-next-step")


def test_on_a_desk_every_section_is_open(new_page, live_server, member, stakeholder):
    incident = incident_report(by=stakeholder, title="Card payments are declined")
    desk = new_page(width=1280, height=800, csp=True)
    login(desk, live_server.url, member.email, PASSWORD)
    desk.goto(f"{live_server.url}/incidents/{incident.ref}")
    desk.wait_for_load_state("networkidle")
    assert desk.get_by_label("Note", exact=True).is_visible()
    assert desk.locator("#timeline").is_visible()
    assert desk.locator("ol.steps").is_visible()
    assert not desk.locator("summary", has_text="Timeline").is_visible()
