"""The Statuspage v2 read API: Statuspage's shapes, CORS, 404s in the API's error format."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents.services import incident_resolve
from incidentdesk.statuspage import services

from .shapes import DOCUMENTS, check


@pytest.fixture
def full_page(manager, member, published, web_component, api_component):
    """Every kind of thing the API lists: components in and out of a group, an unresolved
    incident with a post, a resolved one, an active and an upcoming maintenance."""
    now = clock.now()
    services.maintenance_schedule(
        by=member,
        name="Database upgrade",
        body="Upgrading the primary database.",
        scheduled_for=now + dt.timedelta(days=2),
        scheduled_until=now + dt.timedelta(days=2, hours=2),
        components=[api_component.pk],
    )
    active = services.maintenance_schedule(
        by=member,
        name="Network work",
        scheduled_for=now - dt.timedelta(minutes=5),
        scheduled_until=now + dt.timedelta(hours=1),
        components=[web_component.pk],
    )
    services.maintenance_tick()
    active.refresh_from_db()
    assert active.status == "in_progress"
    from incidentdesk.incidents.services import incident_categorize, incident_report

    old = incident_report(by=member, title="Login failures")
    incident_categorize(
        by=member, incident=old.ref, type="functionality", severity="P3", impact="few"
    )
    services.incident_publish(by=member, incident=old.ref)
    incident_resolve(by=member, incident=old.ref, summary="Fixed the session store.")
    return published


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_every_document_has_statuspages_shape_field_by_field(client, full_page, name):
    response = client.get(f"/api/v2/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    check(response.json(), DOCUMENTS[name])


def test_documents_are_not_empty_where_the_fixture_fills_them(client, full_page):
    summary = client.get("/api/v2/summary.json").json()
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    names = {c["name"]: c for c in summary["components"]}
    assert names["API"]["status"] == "partial_outage"
    assert names["Website"]["status"] == "under_maintenance"
    assert names["Frontends"]["group"] is True
    assert names["Frontends"]["components"] == [names["Website"]["id"]]
    assert names["Website"]["group_id"] == names["Frontends"]["id"]
    [incident] = summary["incidents"]
    assert incident["name"] == "Slow API responses"
    assert incident["status"] == "identified"
    assert incident["impact"] == "major"
    assert incident["incident_updates"][0]["body"] == "A database node is overloaded."
    assert incident["shortlink"].endswith(f"/status/incidents/{incident['id']}/")
    assert [m["status"] for m in summary["scheduled_maintenances"]] == ["in_progress", "scheduled"]

    incidents = client.get("/api/v2/incidents.json").json()["incidents"]
    assert [i["status"] for i in incidents] == ["resolved", "identified"]
    assert incidents[0]["resolved_at"] is not None
    assert client.get("/api/v2/incidents/unresolved.json").json()["incidents"] == [incident]
    upcoming = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Database upgrade"]
    active = client.get("/api/v2/scheduled-maintenances/active.json").json()
    assert [m["name"] for m in active["scheduled_maintenances"]] == ["Network work"]


def test_p1_p2_p3_map_to_critical_major_minor_from_the_policy():
    from incidentdesk.policy.selectors import active_policy

    policy = active_policy()[1]
    impacts = {key: s.statuspage_impact for key, s in policy.severities.items()}
    assert impacts == {"P1": "critical", "P2": "major", "P3": "minor"}


def test_an_empty_page_reads_all_systems_operational(client, db):
    body = client.get("/api/v2/status.json").json()
    check(body, DOCUMENTS["status.json"])
    assert body["status"] == {"indicator": "none", "description": "All Systems Operational"}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v2/incidents/999.json",
        "/api/v2/incidents/INC-1.json",
        "/api/v2/components/999.json",
        "/api/v2/components/abc.json",
        "/api/v2/no-such-document.json",
    ],
)
def test_unknown_ids_are_404_in_the_api_error_format(client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["errors"] == []
    assert response["Access-Control-Allow-Origin"] == "*"


def test_one_incident_and_one_component_by_id(client, published, api_component):
    incident_id = client.get("/api/v2/incidents.json").json()["incidents"][0]["id"]
    one = client.get(f"/api/v2/incidents/{incident_id}.json").json()
    assert one["incident"]["name"] == "Slow API responses"
    component = client.get(f"/api/v2/components/{api_component.pk}.json").json()
    assert component["component"]["name"] == "API"
