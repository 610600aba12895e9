"""What a stakeholder reads on the portal is current: a resolved incident never shows the
team's earlier "we are investigating" as its latest word, and a merged report leads to a page
its reader can open."""

from __future__ import annotations

from incidentdesk.incidents import services as core
from incidentdesk.portal import services


def _report(stakeholder, title="Checkout fails with error 500"):
    return services.portal_report(by=stakeholder, title=title, description="Customers cannot pay.")


def _resolve(member, incident, summary):
    core.incident_categorize(
        by=member,
        incident=incident.ref,
        type="functionality",
        severity="P3",
        impact="few",
        reason="as reported",
    )
    core.incident_resolve(by=member, incident=incident.ref, summary=summary)


def test_a_resolved_incident_shows_its_resolution_not_the_earlier_update(
    client, stakeholder, member
):
    incident = _report(stakeholder)
    core.incident_post_update(
        by=member,
        incident=incident.ref,
        status="investigating",
        body="We are investigating. Next update by 12:36.",
    )
    client.force_login(stakeholder)
    page = client.get("/portal/").content.decode()
    assert "We are investigating. Next update by 12:36." in page

    _resolve(member, incident, "A faulty release was undone.")
    page = client.get("/portal/").content.decode()
    assert "We are investigating" not in page
    assert "Next update by 12:36" not in page
    assert "Resolved: A faulty release was undone." in page


def test_a_resolved_update_posted_by_the_team_stays_the_latest_word(client, stakeholder, member):
    incident = _report(stakeholder)
    _resolve(member, incident, "Fixed.")
    core.incident_post_update(
        by=member, incident=incident.ref, status="resolved", body="Payments work again."
    )
    client.force_login(stakeholder)
    page = client.get("/portal/").content.decode()
    assert "Payments work again." in page


def test_a_merged_report_leads_its_organisation_to_the_original(
    client, stakeholder, stakeholder_same_org, member
):
    original = core.incident_report(by=member, title="Checkout is down", description="seen by us")
    duplicate = _report(stakeholder)
    services.incident_merge(by=member, duplicate=duplicate.ref, original=original.ref)

    for person in (stakeholder, stakeholder_same_org):
        client.force_login(person)
        page = client.get(f"/portal/{duplicate.ref}/").content.decode()
        assert f"Merged into {original.ref}" in page
        assert f'href="/portal/{original.ref}/"' in page
        followed = client.get(f"/portal/{original.ref}/")
        assert followed.status_code == 200
        assert "Checkout is down" in followed.content.decode()


def test_a_report_rejected_as_duplicate_links_only_where_its_reader_may_go(
    client, stakeholder, member
):
    # a Security incident the team found itself: private, so the rejection lists the
    # reporter's organisation on it without opening it to them
    original = core.incident_report(by=member, title="Database failover", description="internal")
    core.incident_categorize(
        by=member, incident=original.ref, type="security", severity="P1", impact="all"
    )
    duplicate = _report(stakeholder)
    core.incident_reject(
        by=member, incident=duplicate.ref, reason="Same problem.", duplicate_of=original.ref
    )
    client.force_login(stakeholder)
    page = client.get(f"/portal/{duplicate.ref}/").content.decode()
    assert f"Merged into {original.ref}" in page
    assert f'href="/portal/{original.ref}/"' not in page
    assert client.get(f"/portal/{original.ref}/").status_code == 404
