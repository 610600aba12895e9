"""The escalation API: the policies as the policy file says them, where an incident's paging
stands, and acknowledging through the API, which stops the paging at once and says so on the
timeline. Stakeholders and anonymous callers get nothing of it."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.ingest import services
from incidentdesk.ingest.services import escalation

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def primary(manager, member):
    schedule = services.schedule_create(by=manager, name="Primary", time_zone="UTC")
    services.schedule_add_layer(
        by=manager,
        schedule=schedule,
        name="All day",
        rotation="daily",
        handoff_time=dt.time(0, 0),
        starts_on=dt.date(2026, 1, 1),
        members=[member.email],
    )
    return schedule


@pytest.fixture
def alerted(manager, primary) -> Incident:
    _, integration = services.integration_create(by=manager, name="Prometheus")
    with clock.frozen(NOW):
        outcome = services.alert_receive(
            integration=integration,
            event=services.AlertEvent(
                action="trigger", dedup_key="db-down", summary="db-1 is down", severity="critical"
            ),
        )
    assert outcome.alert is not None
    return Incident.objects.get(pk=outcome.alert.incident_id)


def call(client, method: str, path: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", **headers)


def test_the_escalation_policies_read_as_the_policy_file_says(client, member, token_for):
    response = call(client, "get", "/escalations", token_for(member))
    assert response.status_code == 200
    page_now, working_hours = response.json()
    assert page_now == {
        "name": "Page now",
        "severities": ["P1", "P2"],
        "sources": ["alert"],
        "working_hours": None,
        "levels": [
            {
                "level": 1,
                "schedule": "Primary",
                "people": [],
                "managers": False,
                "delay_seconds": 0,
                "delay": "at once",
            },
            {
                "level": 2,
                "schedule": None,
                "people": [],
                "managers": True,
                "delay_seconds": 300,
                "delay": "5 minutes",
            },
        ],
        "repeats": 1,
        "repeat_after_seconds": 900,
    }
    assert working_hours["name"] == "Working hours"
    assert working_hours["working_hours"] == {
        "time_zone": "UTC",
        "start": "09:00",
        "end": "17:00",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    }
    assert working_hours["levels"][1]["delay"] == "30 minutes"


def test_an_incidents_paging_reads_where_it_stands_and_acknowledging_stops_it(
    client, alerted, member, member2, token_for
):
    token = token_for(member2)
    path = f"/incidents/{alerted.ref}/escalation"
    with clock.frozen(NOW) as frozen:
        waiting = call(client, "get", path, token).json()
        assert (waiting["state"], waiting["level"], waiting["pages"]) == ("waiting", 0, [])
        assert waiting["policy"]["name"] == "Page now"

        assert escalation.escalation_check() == 1
        paging = call(client, "get", path, token).json()
        assert (paging["state"], paging["level"], paging["round"]) == ("paging", 1, 0)
        assert paging["next_step_at"] == "2026-03-27T10:05:00Z"
        assert [(p["level"], p["people"], p["summary"]) for p in paging["pages"]] == [
            (1, [member.email], f"Paged {member.email} (level 1)")
        ]

        frozen.advance(minutes=2)
        response = call(client, "post", f"{path}/acknowledge", token)
        assert response.status_code == 200
        acknowledged = response.json()
        assert acknowledged["state"] == "acknowledged"
        assert acknowledged["assignee"] == member2.email
        assert acknowledged["acknowledged_at"] == "2026-03-27T10:02:00Z"
        assert acknowledged["stopped_at"] == "2026-03-27T10:02:00Z"
        assert acknowledged["next_step_at"] is None
        entries = TimelineEntry.objects.filter(incident=alerted).order_by("seq")
        acked, stopped = [e for e in entries if e.kind in ("acknowledged", "paging_stopped")]
        assert acked.kind == "acknowledged" and acked.actor == member2
        assert stopped.data["summary"] == (
            f"Paging stopped at level 1: acknowledged by {member2.display_name}"
        )

        # the manager's level is never paged, and a second acknowledgement is refused
        frozen.advance(minutes=30)
        escalation.escalation_check()
        assert TimelineEntry.objects.filter(incident=alerted, kind="paged").count() == 1
        again = call(client, "post", f"{path}/acknowledge", token)
        assert again.status_code == 409
        assert again.json()["detail"] == f"{alerted.ref} was already acknowledged."


def test_an_incident_no_policy_pages_for_says_so(client, member, token_for):
    incident = incidents.incident_report(by=member, title="Printer on fire", source="team")
    path = f"/incidents/{incident.ref}/escalation"
    state = call(client, "get", path, token_for(member)).json()
    assert (state["state"], state["policy"], state["pages"]) == ("none", None, [])
    refused = call(client, "post", f"{path}/acknowledge", token_for(member))
    assert refused.status_code == 409
    assert "pages nobody" in refused.json()["detail"]
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is None


def test_stakeholders_and_anonymous_callers_get_nothing(client, alerted, stakeholder, token_for):
    own = incidents.incident_report(by=stakeholder, title="Our shop is down", source="portal")
    token = token_for(stakeholder)
    written = TimelineEntry.objects.count()
    for method, path in [
        ("get", "/escalations"),
        ("get", f"/incidents/{alerted.ref}/escalation"),
        ("post", f"/incidents/{alerted.ref}/escalation/acknowledge"),
    ]:
        response = call(client, method, path)
        assert response.status_code == 401, path
    assert call(client, "get", "/escalations", token).status_code == 403
    # an incident the stakeholder may not see is not there; its own is not its to page
    for ref, status in [(alerted.ref, 404), (own.ref, 403)]:
        read = call(client, "get", f"/incidents/{ref}/escalation", token)
        ack = call(client, "post", f"/incidents/{ref}/escalation/acknowledge", token)
        assert (read.status_code, ack.status_code) == (status, status), ref
        if status == 404:
            assert read.json()["detail"] == f"No incident {ref}."
    assert TimelineEntry.objects.count() == written
    assert Incident.objects.get(pk=alerted.pk).acknowledged_at is None


def test_the_escalation_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/escalations"]) == {"get"}
    assert set(paths["/api/v1/incidents/{ref}/escalation"]) == {"get"}
    acknowledge = paths["/api/v1/incidents/{ref}/escalation/acknowledge"]["post"]
    assert acknowledge["summary"] == (
        "Acknowledge an incident that is paging people: its paging stops at once"
    )
