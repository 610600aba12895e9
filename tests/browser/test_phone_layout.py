"""The team on a phone: every page fits 375 px without sideways scroll, the menu folds away
behind "Menu" and opens, the queue's filters fold away; on a desk the menu is simply there."""

from __future__ import annotations

from incidentdesk.accounts.models import User
from incidentdesk.demo.loader import PASSWORD, load
from incidentdesk.incidents.models import Incident
from incidentdesk.reviews.models import Review
from tests.browser.conftest import login


def _pages() -> list[str]:
    worked = Incident.objects.get(title="Point-of-sale sync failing in all stores")
    reviewed = Review.objects.filter(state="published").first()
    assert reviewed is not None
    return [
        "/",
        "/home",
        f"/incidents/{worked.ref}",
        f"/incidents/{worked.ref}/communications",
        f"/incidents/{reviewed.incident.ref}/review",
        "/comms/deliveries/",
        "/comms/preferences/",
        "/insights/",
        "/actions/",
        "/mail/held",
        "/oncall/",
        "/guidelines/",
        "/status/manage/",
        "/tokens/",
        "/guidelines/in-place/",
    ]


def _overflow(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def test_no_team_page_scrolls_sideways_on_a_phone_and_the_menu_opens(new_page, live_server):
    load()
    manager = User.objects.get(email="manager@spacewise.example")
    phone = new_page(width=375, height=800)
    login(phone, live_server.url, manager.email, PASSWORD)
    assert "/login/" not in phone.url
    for url in _pages():
        phone.goto(live_server.url + url)
        phone.wait_for_load_state("networkidle")
        assert phone.url == live_server.url + url, url
        assert _overflow(phone) <= 0, url
        # the menu is folded: its links are out of sight until "Menu" is pressed
        actions = phone.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Action items"
        )
        assert not actions.is_visible(), url
    phone.goto(live_server.url + "/")
    phone.wait_for_load_state("networkidle")
    # the queue's filters are folded away too, so the incidents come first
    assert not phone.get_by_label("Search").is_visible()
    phone.get_by_text("Filters", exact=True).click()
    assert phone.get_by_label("Search").is_visible()
    phone.locator("summary", has_text="Menu").click()
    link = phone.get_by_role("navigation", name="Main").get_by_role("link", name="Action items")
    assert link.is_visible()
    link.click()
    phone.wait_for_url(live_server.url + "/actions/")
    assert phone.get_by_role("heading", name="Action items").is_visible()
    assert _overflow(phone) <= 0


def test_on_a_desk_the_menu_and_filters_are_open(new_page, live_server):
    load()
    manager = User.objects.get(email="manager@spacewise.example")
    desk = new_page(width=1280, height=800)
    login(desk, live_server.url, manager.email, PASSWORD)
    desk.wait_for_load_state("networkidle")
    assert (
        desk.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Action items")
        .is_visible()
    )
    assert not desk.locator("summary", has_text="Menu").is_visible()
    assert desk.get_by_label("Search").is_visible()
