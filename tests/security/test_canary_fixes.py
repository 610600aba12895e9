"""Leaks the canary sweep found, each pinned by the request that showed it."""

from __future__ import annotations

from incidentdesk.incidents import services as s


def _get(client, url, token):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_stakeholder_reads_none_of_the_teams_checklist(client, stakeholder, member, token_for):
    incident = s.incident_report(by=stakeholder, title="Tills offline")
    s.incident_acknowledge(by=member, incident=incident)
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P2",
        impact="few",
        reason="All tills of the shop",
    )
    task = incident.tasks.order_by("pk").first()
    s.incident_task_update(
        by=member,
        incident=incident,
        task_id=task.pk,
        state="skipped",
        reason="Vendor owes us a patch",
    )
    url = f"/api/v1/incidents/{incident.ref}/tasks"

    team = _get(client, url, token_for(member)).json()["items"]
    assert [(t["reason"], t["done_by"]) for t in team if t["state"] == "skipped"] == [
        ("Vendor owes us a patch", member.email)
    ]
    response = _get(client, url, token_for(stakeholder))
    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_a_stakeholder_reads_no_team_address_as_the_reporter(
    client, stakeholder, stakeholder_same_org, other_stakeholder, member, token_for
):
    by_team = s.incident_report(by=member, title="Card terminals", organisation="Northwind")
    by_colleague = s.incident_report(by=stakeholder_same_org, title="Receipt printer")
    own = s.incident_report(by=stakeholder, title="Scanner")
    token = token_for(stakeholder)

    def reporter(ref, as_token=token):
        return _get(client, f"/api/v1/incidents/{ref}", as_token).json()["reporter"]

    assert reporter(by_team.ref) is None
    assert reporter(by_colleague.ref) == stakeholder_same_org.email
    assert reporter(own.ref) == stakeholder.email
    listed = _get(client, "/api/v1/incidents", token).json()["items"]
    assert {i["ref"]: i["reporter"] for i in listed} == {
        by_team.ref: None,
        by_colleague.ref: stakeholder_same_org.email,
        own.ref: stakeholder.email,
    }
    assert member.email not in _get(client, "/api/v1/incidents", token).content.decode()
    # the team reads every reporter
    assert reporter(by_team.ref, token_for(member)) == member.email
    # and another organisation reads nothing of Northwind's
    assert (
        _get(
            client, f"/api/v1/incidents/{by_colleague.ref}", token_for(other_stakeholder)
        ).status_code
        == 404
    )
