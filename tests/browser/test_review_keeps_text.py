"""Typing in the review and then adding an action item keeps the text: the browser sends it
with the item, and the page shows it saved."""

from __future__ import annotations

from playwright.sync_api import expect

from incidentdesk.reviews import services as rs
from incidentdesk.reviews.models import ActionItem, Review
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.reviews.helpers import at, worked_incident


def test_adding_an_action_item_keeps_the_review_text_typed(page, live_server, member):
    incident = worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )
    rs.review_start(by=member, incident=incident.ref)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/incidents/{incident.ref}/review")

    page.get_by_label("Trigger and contributing factors").fill("A certificate expired unnoticed.")
    page.get_by_label("Title").fill("Alert on certificate expiry")
    page.get_by_label("Kind").select_option("detect")
    page.get_by_label("Due date").fill("2030-01-31")
    page.get_by_role("button", name="Add action item").click()

    expect(page.get_by_text("Action item added. The review text is saved with it.")).to_be_visible()
    expect(page.get_by_label("Trigger and contributing factors")).to_have_value(
        "A certificate expired unnoticed."
    )
    expect(page.get_by_role("cell", name="Alert on certificate expiry")).to_be_visible()
    assert Review.objects.get(incident=incident).sections["trigger"] == (
        "A certificate expired unnoticed."
    )
    assert ActionItem.objects.filter(incident=incident).count() == 1

    # an item refused (no due date) keeps the item and the review text on the page
    page.get_by_label("Trigger and contributing factors").fill("Typed after the first save.")
    page.get_by_label("Title").fill("Rotate certificates automatically")
    page.get_by_role("button", name="Add action item").click()
    expect(page.get_by_text("Due date is required.")).to_be_visible()
    expect(page.get_by_label("Trigger and contributing factors")).to_have_value(
        "Typed after the first save."
    )
    expect(page.get_by_label("Title")).to_have_value("Rotate certificates automatically")
    assert ActionItem.objects.filter(incident=incident).count() == 1
