"""A member writes and publishes a review with an action item; the manager reads the insights."""

from __future__ import annotations

from playwright.sync_api import expect

from incidentdesk.accounts.models import User
from incidentdesk.demo.loader import PASSWORD as DEMO_PASSWORD
from incidentdesk.demo.loader import load
from incidentdesk.incidents.models import Incident
from incidentdesk.reviews.models import ActionItem, Review
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD
from tests.reviews.helpers import at, worked_incident


def test_write_and_publish_a_review_with_an_action_item(page, live_server, member, manager):
    incident = worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/incidents/{incident.ref}/review")
    expect(page.get_by_text("A review is required for P1")).to_be_visible()
    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_text("Review started from the template.")).to_be_visible()
    expect(page.get_by_label("Impact")).to_contain_text("Duration (reported to resolved): 2h")

    page.get_by_label("Summary", exact=True).fill(
        "Card payments failed in every store for two hours."
    )
    page.get_by_label("Trigger and contributing factors").fill(
        "An expired certificate; **human error** when renewing."
    )
    page.get_by_label("Lessons").fill("Certificate expiry needs an alert.")
    page.get_by_label("Note for entry 1").fill("Northwind called first")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Review saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Blameless language")).to_be_visible()
    expect(page.get_by_text("“human error”")).to_be_visible()

    page.get_by_label("Title").fill("Alert 30 days before a certificate expires")
    page.get_by_label("Kind").select_option("detect")
    page.get_by_label("Due date").fill("2030-01-31")
    page.get_by_role("button", name="Add action item").click()
    expect(page.get_by_text("Action item added.")).to_be_visible()
    expect(
        page.get_by_role("cell", name="Alert 30 days before a certificate expires")
    ).to_be_visible()

    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_text("Review published.")).to_be_visible()
    expect(page.get_by_role("heading", name="The review")).to_be_visible()
    expect(page.get_by_role("link", name="Revision 1")).to_be_visible()
    screenshot(page, "review")

    page.get_by_text("Edit the review").click()
    page.get_by_label("Lessons").fill("Certificate expiry needs an alert 30 days ahead.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("link", name="Revision 2")).to_be_visible()
    page.get_by_role("link", name="Revision 1").click()
    expect(page.get_by_text("Certificate expiry needs an alert.", exact=True)).to_be_visible()
    page.go_back()

    assert Review.objects.get(incident=incident).state == "published"
    assert ActionItem.objects.get(incident=incident).owner == member
    assert Incident.objects.get(pk=incident.pk).timeline.filter(kind="review_published").exists()

    page.get_by_role("link", name="Action items").first.click()
    expect(page.get_by_role("heading", name="Action items")).to_be_visible()
    expect(
        page.get_by_role("cell", name="Alert 30 days before a certificate expires", exact=True)
    ).to_be_visible()
    expect(page.get_by_role("link", name="Insights")).to_have_count(0)


def test_manager_reads_the_insights_of_the_demo(new_page, live_server):
    load()
    manager = User.objects.get(email="manager@spacewise.example")
    page = new_page(width=1280, height=900)
    login(page, live_server.url, manager.email, DEMO_PASSWORD)
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    expect(
        page.get_by_role("heading", name="Time to resolve (reported to resolved)")
    ).to_be_visible()
    assert page.locator("svg.chart rect").count() > 5
    assert page.locator("svg.chart polyline").count() > 1
    expect(page.get_by_text("Loyalty points missing on receipts")).to_have_count(0)
    screenshot(page, "insights")
    page.goto(f"{live_server.url}/actions/?status=unfinished")
    expect(page.get_by_role("heading", name="Action items")).to_be_visible()
    screenshot(page, "review-actions")
