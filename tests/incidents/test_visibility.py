"""Who sees which incident: the team sees all; a stakeholder sees its organisation's and the
ones it is affected by, never another organisation's nor a private one (404, so refs don't
leak)."""

from __future__ import annotations

import json

import pytest

from incidentdesk.accounts.services import user_create
from incidentdesk.core.errors import NotFound
from incidentdesk.incidents import services as s
from incidentdesk.incidents.selectors import IncidentFilters, incident_get_for, incident_list_for

from ..conftest import PASSWORD


@pytest.fixture
def third_org_user(db):
    return user_create(
        by=None,
        email="fay@fabrikam.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Fabrikam",
    )


@pytest.fixture
def incidents(stakeholder, other_stakeholder, third_org_user, member, manager):
    """Northwind's, Contoso's, one the team opened affecting Contoso, and a private one."""
    northwind = s.incident_report(by=stakeholder, title="Northwind tills")
    contoso = s.incident_report(by=other_stakeholder, title="Contoso tills")
    affecting = s.incident_report(by=member, title="Shared outage", organisation="Contoso")
    internal = s.incident_report(by=member, title="Internal only")
    secret = s.incident_report(by=manager, title="Leaked key", organisation="Northwind")
    secret = s.incident_categorize(
        by=member, incident=secret, type="security", severity="P1", impact="all", reason="key"
    ).incident
    return {
        "northwind": northwind,
        "contoso": contoso,
        "affecting": affecting,
        "internal": internal,
        "secret": secret,
    }


def visible_titles(user) -> list[str]:
    return sorted(incident_list_for(user, IncidentFilters()).values_list("title", flat=True))


def test_team_sees_every_incident(incidents, admin, manager, member):
    everything = sorted(i.title for i in incidents.values())
    for user in (admin, manager, member):
        assert visible_titles(user) == everything


def test_stakeholder_sees_own_organisations_and_affected_incidents(
    incidents, stakeholder, stakeholder_same_org, other_stakeholder, third_org_user
):
    assert visible_titles(stakeholder) == ["Northwind tills"]
    assert visible_titles(stakeholder_same_org) == ["Northwind tills"]
    assert visible_titles(other_stakeholder) == ["Contoso tills", "Shared outage"]
    assert visible_titles(third_org_user) == []


def test_affected_organisation_added_later_sees_it(incidents, other_stakeholder):
    incidents["northwind"].affected_orgs.add(other_stakeholder.organisation)
    assert "Northwind tills" in visible_titles(other_stakeholder)


def test_private_incident_is_hidden_from_its_organisation(incidents, stakeholder_same_org):
    assert incidents["secret"].reporter_org.name == "Northwind"
    assert incidents["secret"].private
    with pytest.raises(NotFound):
        incident_get_for(stakeholder_same_org, incidents["secret"].ref)


def test_reporter_keeps_seeing_their_own_report_once_private(stakeholder, member):
    incident = s.incident_report(by=stakeholder, title="Strange login alerts")
    s.incident_categorize(
        by=member, incident=incident, type="security", severity="P2", impact="all", reason="r"
    )
    assert incident_get_for(stakeholder, incident.ref).private is True


def test_other_organisation_gets_404_not_403(client, incidents, other_stakeholder, token_for):
    token = token_for(other_stakeholder)
    ref = incidents["northwind"].ref
    for path in ("", "/timeline", "/steps", "/tasks"):
        r = client.get(f"/api/v1/incidents/{ref}{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert r.status_code == 404, path
        assert r.json() == {"detail": f"No incident {ref}.", "errors": []}
    r = client.get("/api/v1/incidents/INC-99999", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.json() == {"detail": "No incident INC-99999.", "errors": []}


def test_stakeholder_sees_no_internal_entries_nor_assignee(
    client, incidents, stakeholder, member, token_for
):
    incident = incidents["northwind"]
    s.incident_acknowledge(by=member, incident=incident)
    s.incident_add_note(by=member, incident=incident, body="Suspect the new release")
    token = token_for(stakeholder)
    r = client.get(f"/api/v1/incidents/{incident.ref}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.json()["assignee"] is None
    r = client.get(
        f"/api/v1/incidents/{incident.ref}/timeline", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert [e["kind"] for e in r.json()["items"]] == ["reported", "acknowledged"]
    assert "Suspect" not in json.dumps(r.json())


def test_list_filters_stay_within_what_a_stakeholder_sees(
    client, incidents, stakeholder, token_for
):
    token = token_for(stakeholder)
    r = client.get(
        "/api/v1/incidents", {"q": incidents["contoso"].ref}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert r.json() == {"items": [], "next": None}
    r = client.get("/api/v1/incidents", {"type": "security"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.json()["items"] == []


def test_deactivated_user_sees_nothing(incidents, stakeholder):
    stakeholder.is_active = False
    assert visible_titles(stakeholder) == []
