"""A stakeholder reports a problem with a file, sees it listed, answers the team's question
and sees the resolution. Screenshots for docs/guide-stakeholders.md."""

from __future__ import annotations

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents import services as core
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import services as portal
from incidentdesk.statuspage.models import Component
from incidentdesk.statuspage.services import incident_publish as publish
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _attachments(settings, tmp_path):
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"


@pytest.fixture
def components(db):
    now = clock.now()
    for name in ("Checkout", "Stock sync", "Reports"):
        Component.objects.create(name=name, created_at=now, updated_at=now)


def test_report_follow_answer_and_see_resolution(
    page, live_server, stakeholder, other_stakeholder, member, components
):
    # another organisation's problem, already on the public status page
    announced = core.incident_report(by=other_stakeholder, title="Card payments fail at checkout")
    core.incident_post_update(
        by=member,
        incident=announced,
        status="investigating",
        body="We are looking into failing card payments.",
    )
    publish(by=member, incident=announced.ref, title="Card payments fail at checkout")

    login(page, live_server.url, stakeholder.email, PASSWORD)
    assert page.url == f"{live_server.url}/portal/"
    page.get_by_role("link", name="Report a problem", exact=True).click()
    page.get_by_label("What is wrong?").fill("Card payments fail at the checkout")
    page.get_by_label("Kind of problem").select_option(label="Performance")
    page.get_by_text("How slow (seconds, timeouts)").wait_for()
    page.get_by_label("Which service or component").select_option(label="Checkout")
    page.get_by_label("When did it start?").fill("2026-01-05T09:30")
    page.get_by_label("How many of your users are affected?").fill("25")
    page.get_by_label("What happened?").fill(
        "Payments by card time out after 30 seconds.\n<b>not bold</b>"
    )
    page.get_by_label("Steps to reproduce").fill("1. Add an item\n2. Pay by card")
    page.get_by_label("Screenshots, logs or other files").set_input_files(
        files=[{"name": "terminal.log", "mimeType": "text/plain", "buffer": b"timeout after 30s"}]
    )
    screenshot(page, "portal-report")
    page.get_by_role("button", name="Send report").click()

    mine = Incident.objects.exclude(pk=announced.pk).get()
    page.get_by_text(f"Your report is {mine.ref}").wait_for()
    similar = page.get_by_role("region", name="Is it one of these?")
    assert announced.title in similar.inner_text()
    assert "terminal.log" in page.get_by_role("region", name="Files").inner_text()
    assert "<b>not bold</b>" in page.inner_text("main")
    screenshot(page, "portal-reported")

    page.get_by_role("link", name="Our incidents").click()
    row = page.get_by_role("row").filter(has_text=mine.ref)
    assert "Received: the team will look at it shortly" in row.inner_text()

    core.incident_request_info(
        by=member, incident=mine, question="Which card terminals do you use?"
    )
    page.reload()
    assert (
        "1 waiting for your answer"
        in page.get_by_role("row").filter(has_text=mine.ref).inner_text()
    )
    screenshot(page, "portal-incidents")
    page.get_by_role("link", name=mine.ref).click()
    question = page.get_by_role("region", name="The team asks")
    assert "Which card terminals do you use?" in question.inner_text()
    screenshot(page, "portal-question")
    question.get_by_label("Your answer").fill("Verifone V240m in all stores")
    question.get_by_role("button", name="Send answer").click()
    page.get_by_text("Thank you: your answer was sent to the team.").wait_for()
    assert mine.info_requests.get().answer == "Verifone V240m in all stores"

    page.get_by_label("Comment").fill("It also happens with contactless payments.")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Added to the incident.").wait_for()

    core.incident_categorize(
        by=member,
        incident=mine,
        type="performance",
        severity="P2",
        impact="few",
        reason="one store chain",
    )
    core.incident_resolve(
        by=member,
        incident=mine,
        summary="The payment gateway's timeout was raised; card payments work again.",
    )
    page.reload()
    assert page.get_by_text("Resolved", exact=True).first.is_visible()
    resolution = page.get_by_role("region", name="Resolution")
    assert "card payments work again" in resolution.inner_text()
    screenshot(page, "portal-resolved")


def test_join_a_similar_incident(page, live_server, stakeholder, other_stakeholder, member):
    """Another organisation's incident is known from the status page only: joining asks the
    team, and the stakeholder sees it in the portal once the team links its organisation."""
    announced = core.incident_report(
        by=other_stakeholder, title="Stock sync stopped overnight at Contoso"
    )
    core.incident_post_update(
        by=member, incident=announced, status="identified", body="Stock sync is being repaired."
    )
    publish(by=member, incident=announced.ref, title="Stock sync delayed")
    login(page, live_server.url, stakeholder.email, PASSWORD)
    page.goto(f"{live_server.url}/portal/report/")
    page.get_by_label("What is wrong?").fill("Stock sync has stopped")
    page.get_by_role("button", name="Send report").click()
    similar = page.get_by_role("region", name="Is it one of these?")
    assert "Stock sync delayed" in similar.inner_text()
    assert announced.title not in page.inner_text("main")
    page.get_by_role("button", name=f"Ask to join {announced.ref}").click()
    page.get_by_text(
        f"The team was asked to list your organisation as affected by {announced.ref}"
    ).wait_for()
    assert announced.title not in page.inner_text("main")
    assert set(announced.affected_orgs.values_list("name", flat=True)) == {"Contoso"}

    portal.incident_link_organisation(by=member, incident=announced.ref, organisation="Northwind")
    page.goto(f"{live_server.url}/portal/{announced.ref}/")
    page.get_by_role("heading", name=f"{announced.ref}: {announced.title}").wait_for()
    assert "You follow this incident." in page.inner_text("main")


def test_team_sees_similar_reports_and_merges(
    page, live_server, stakeholder, other_stakeholder, member
):
    first = core.incident_report(by=stakeholder, title="Receipts print blank pages")
    second = core.incident_report(by=other_stakeholder, title="Blank receipts from every printer")
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/incidents/{second.ref}/similar")
    assert "1 of 2 stakeholder organisations affected" in page.inner_text("main")
    screenshot(page, "portal-team-similar")
    page.get_by_role("button", name=f"Merge {second.ref} into {first.ref}").click()
    page.get_by_text(f"{second.ref} was merged into {first.ref}.").wait_for()
    second.refresh_from_db()
    assert second.duplicate_of_id == first.pk
