"""The queue by keyboard and in bulk, in Chromium: j/k move, a acknowledges, / searches,
? lists the keys, o opens; ticked incidents are acknowledged together."""

from __future__ import annotations

import re

from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.services import incident_report
from tests.browser.conftest import login
from tests.conftest import PASSWORD


def test_keyboard_moves_acknowledges_searches_and_opens(new_page, live_server, member, stakeholder):
    for n in range(3):
        incident_report(by=stakeholder, title=f"Printer {n} is on fire")
    page = new_page(csp=True)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(live_server.url + "/?sort=newest")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue-results tbody tr[data-ref]")
    assert rows.count() == 3
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = rows.nth(0)
    assert "current" in (first.get_attribute("class") or "")
    ref = first.get_attribute("data-ref")
    with page.expect_navigation():
        page.keyboard.press("a")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").filter(has_text="1 acknowledged").is_visible()
    assert Incident.objects.get(pk=int(ref[4:])).acknowledged_at is not None
    assert Incident.objects.filter(acknowledged_at__isnull=True).count() == 2

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    page.keyboard.type("j")  # typed into the search, not a move
    assert page.locator("#f-q").input_value() == "j"
    page.locator("#f-q").fill("")
    page.locator("body").click(position={"x": 5, "y": 5})

    page.keyboard.press("j")
    target = rows.nth(0).get_attribute("data-ref")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(rf".*/incidents/{target}$"))


def test_ticked_incidents_are_acknowledged_together(new_page, live_server, member, stakeholder):
    refs = [incident_report(by=stakeholder, title=f"Scanner {n} jams").ref for n in range(3)]
    page = new_page(width=375, height=800, csp=True)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    for ref in refs[:2]:
        page.get_by_label(f"Select {ref}").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Acknowledge selected").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").filter(has_text="2 acknowledged.").is_visible()
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert set(
        Incident.objects.filter(acknowledged_at__isnull=False).values_list("pk", flat=True)
    ) == {int(r[4:]) for r in refs[:2]}
