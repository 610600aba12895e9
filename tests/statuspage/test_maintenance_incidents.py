"""Maintenance incidents drive maintenance windows: a window scheduled from one is written
into its timeline, and so is each step of the window, by a person or by the worker."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import InvalidInput
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import Maintenance


def _incident(member, type_key: str) -> Incident:
    incident = incidents.incident_report(by=member, title="Database upgrade to 17")
    incidents.incident_categorize(
        by=member, incident=incident, type=type_key, severity="P3", impact="few", reason="r"
    )
    return Incident.objects.get(pk=incident.pk)


def test_a_window_scheduled_from_a_maintenance_incident_is_in_its_timeline(member, api_component):
    incident = _incident(member, "maintenance")
    version = incident.version
    start = clock.now() + dt.timedelta(hours=1)
    with clock.frozen(clock.now()) as frozen:
        maintenance = services.maintenance_schedule(
            by=member,
            name="Database upgrade",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=[api_component.pk],
            incident=incident.ref,
        )
        assert maintenance.incident_id == incident.pk
        scheduled = incident.timeline.get(kind="maintenance_scheduled")
        assert scheduled.actor == member
        assert scheduled.data["components"] == ["API"]

        frozen.set(start + dt.timedelta(minutes=1))
        services.maintenance_tick()
        services.maintenance_post(
            by=member, maintenance=maintenance, status="verifying", body="Checking replicas"
        )
        frozen.set(start + dt.timedelta(hours=2, minutes=1))
        services.maintenance_tick()

    steps = incident.timeline.filter(kind="maintenance_updated").order_by("seq")
    assert [(e.data["status"], e.actor_label) for e in steps] == [
        ("in_progress", "system"),
        ("verifying", member.email),
        ("completed", "system"),
    ]
    assert steps[1].data["body"] == "Checking replicas"
    incident.refresh_from_db()
    assert timeline.verify(incident) is None
    # the person's two entries advance the version; the worker's leave it for open forms
    assert incident.version == version + 2


def test_only_a_type_that_schedules_maintenance_may_own_a_window(member):
    incident = _incident(member, "functionality")
    now = clock.now()
    with pytest.raises(InvalidInput) as exc:
        services.maintenance_schedule(
            by=member,
            name="Not maintenance",
            scheduled_for=now + dt.timedelta(hours=1),
            scheduled_until=now + dt.timedelta(hours=2),
            incident=incident.ref,
        )
    assert exc.value.errors[0].field == "incident"
    assert "Maintenance" in exc.value.errors[0].message
    assert not Maintenance.objects.exists()
    assert not incident.timeline.filter(kind="maintenance_scheduled").exists()


def _post(client, token, body):
    return client.post(
        "/api/v1/statuspage/maintenances",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_api_schedules_a_window_for_an_incident(
    client, member, stakeholder, token_for, api_component
):
    incident = _incident(member, "maintenance")
    start = clock.now() + dt.timedelta(days=1)
    body = {
        "name": "Database upgrade",
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + dt.timedelta(hours=1)).isoformat(),
        "components": [api_component.pk],
        "incident": incident.ref,
    }
    # a stakeholder may not schedule, and nothing is written
    refused = _post(client, token_for(stakeholder), body)
    assert refused.status_code in (403, 404)
    assert not Maintenance.objects.exists()

    unknown = _post(client, token_for(member), {**body, "incident": "INC-999"})
    assert unknown.status_code == 404

    r = _post(client, token_for(member), body)
    assert r.status_code == 201
    assert r.json()["incident"] == incident.ref
    assert incident.timeline.filter(kind="maintenance_scheduled").count() == 1


def test_the_incidents_status_page_form_schedules_the_window(client, member, api_component):
    from incidentdesk.statuspage import cache

    incident = _incident(member, "maintenance")
    client.force_login(member)
    team_page = client.get(f"/incidents/{incident.ref}").content.decode()
    assert "No maintenance window scheduled yet." in team_page
    assert "Schedule it on the status page" in team_page
    page = client.get(f"/status/manage/incidents/{incident.ref}").content.decode()
    assert "Schedule maintenance window" in page
    start = (clock.now() + dt.timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    r = client.post(
        f"/status/manage/incidents/{incident.ref}",
        {
            "action": "maintenance_schedule",
            "name": "Database upgrade",
            "scheduled_for": start.isoformat(timespec="minutes"),
            "scheduled_until": (start + dt.timedelta(hours=1)).isoformat(timespec="minutes"),
            "components": [str(api_component.pk)],
        },
    )
    assert r.status_code == 302
    page = client.get(f"/status/manage/incidents/{incident.ref}").content.decode()
    assert "Database upgrade — " in page and "(Scheduled)" in page
    team_page = client.get(f"/incidents/{incident.ref}").content.decode()
    assert "Maintenance scheduled" in team_page  # the timeline
    assert "Maintenance window “Database upgrade”:" in team_page  # the header
    assert "No maintenance window scheduled yet." not in team_page
    cache.clear()
    assert "Database upgrade" in client.get("/status/").content.decode()

    # a functionality incident's page offers no window
    other = _incident(member, "functionality")
    page = client.get(f"/status/manage/incidents/{other.ref}").content.decode()
    assert "Schedule maintenance window" not in page
    assert "maintenance window" not in client.get(f"/incidents/{other.ref}").content.decode()


def test_planned_work_runs_on_the_maintenance_types_own_targets(member):
    planned = _incident(member, "maintenance")
    fault = _incident(member, "functionality")
    # both P3: the severity's five days to resolve, but thirty for planned work
    assert fault.resolve_due_at - fault.reported_at == dt.timedelta(days=5)
    assert planned.resolve_due_at - planned.reported_at == dt.timedelta(days=30)
    # the severity's acknowledge target still holds
    assert planned.ack_due_at - planned.reported_at == fault.ack_due_at - fault.reported_at
