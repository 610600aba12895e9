"""A member takes a reported incident through the policy; a manager watches live and closes."""

from __future__ import annotations

from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents.roles import incident_assign
from incidentdesk.incidents.services import (
    incident_categorize,
    incident_report,
)
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD


def _people():
    member = user_create(
        by=None, email="alex@spacewise.test", password=PASSWORD, role="member", first_name="Alex"
    )
    manager = user_create(
        by=None,
        email="morgan@spacewise.test",
        password=PASSWORD,
        role="manager",
        first_name="Morgan",
    )
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
    return member, manager, nora


def test_member_triages_works_and_resolves_manager_sees_it_live_and_closes(new_page, live_server):
    member, manager, nora = _people()
    incident = incident_report(
        by=nora, title="Checkout fails with error 500", description="Since **09:00** today."
    )
    url = f"{live_server.url}/incidents/{incident.ref}"
    # a few others, so that the queue shows its order: severity, then unassigned, then SLA clock
    for title, type_key, impact, severity in (
        ("Login page times out for some users", "performance", "few", "P3"),
        ("Suspicious admin logins from an unknown network", "security", "few", "P2"),
        ("Nightly export did not run", "functionality", "few", "P3"),
    ):
        other = incident_report(by=nora, title=title)
        incident_categorize(
            by=manager, incident=other.ref, type=type_key, severity=severity, impact=impact
        )
    incident_assign(by=manager, incident=other.ref, assignee=None)

    watcher = new_page()
    login(watcher, live_server.url, manager.email, PASSWORD)
    watched_row = watcher.locator("table.queue tbody tr", has_text=incident.title)
    expect(watched_row).to_contain_text("untriaged")

    page = new_page()
    login(page, live_server.url, member.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")
    first_row = page.locator("table.queue tbody tr").first
    expect(first_row).to_contain_text(incident.ref)  # untriaged comes first
    screenshot(page, "queue")
    page.get_by_role("link", name=incident.ref, exact=True).click()
    steps = page.locator("#steps")
    expect(steps).to_contain_text("Assess the incident and collect all the information")
    expect(steps).to_contain_text("Document all actions taken during the incident")

    page.get_by_label("Type").select_option(label="Security")
    expect(page.locator("#triage-suggestion")).to_contain_text("Policy suggests: P2")
    page.get_by_label("Type").select_option(label="Functionality")
    expect(page.locator("#triage-suggestion")).to_contain_text("Policy suggests: P3")
    expect(page.get_by_label("Severity")).to_have_value("P3")
    page.get_by_role("button", name="Categorize").click()
    expect(page.get_by_text("Categorized as P3")).to_be_visible()
    # the manager's queue changed without a reload
    expect(watched_row).to_contain_text("P3", timeout=5000)
    watcher.goto(url)
    expect(watcher.get_by_text("Severity: P3")).to_be_visible()

    page.get_by_role("button", name="Mark “Reproduce the problem” done").click()
    expect(page.locator("#task-list li").first).to_contain_text("done")
    page.get_by_label("Reason to skip “Verify with the reporter that it works again”").fill(
        "Reporter confirmed by phone"
    )
    page.get_by_role("button", name="Skip “Verify with the reporter that it works again”").click()
    expect(page.locator("#task-list")).to_contain_text("Reporter confirmed by phone")

    page.get_by_label("Note", exact=True).fill("Rolled back **release 42**")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes strong", has_text="release 42")).to_be_visible()

    page.get_by_label("Resolution summary").fill("Release 42 rolled back; checkout works.")
    page.get_by_role("button", name="Resolve").click()
    # two guideline tasks are still open: resolving asks first, keeping the summary
    expect(
        page.get_by_text("Do or skip them, or confirm that you resolve with them open.")
    ).to_be_visible()
    expect(page.get_by_label("Resolution summary")).to_have_value(
        "Release 42 rolled back; checkout works."
    )
    page.get_by_label("Resolve with these tasks open").check()
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("Status: resolved")).to_be_visible()
    expect(page.locator("#step-resolve")).to_contain_text("resolved, 2 tasks open")
    expect(page.get_by_role("button", name="Close incident")).to_have_count(0)
    screenshot(page, "incident")

    # the manager's page changed without a reload
    expect(watcher.get_by_text("Status: resolved")).to_be_visible(timeout=5000)
    expect(watcher.locator("#timeline")).to_contain_text("Resolved: Release 42 rolled back")
    watcher.reload()
    watcher.get_by_role("button", name="Close incident").click()
    expect(watcher.get_by_text("Status: closed")).to_be_visible()
    expect(watcher.locator("#step-document")).to_contain_text("done")
