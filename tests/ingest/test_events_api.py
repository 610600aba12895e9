"""PagerDuty's Events API v2 at /v2/enqueue: alerts open incidents, repeats count on the
alert, acknowledge and resolve follow, a storm opens a bounded number of incidents, and an
invalid event gets PagerDuty's 400 and writes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Alert

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def prometheus(manager):
    raw, integration = services.integration_create(by=manager, name="Prometheus")
    return raw, integration


def send(client, body, **headers):
    return client.post(
        "/v2/enqueue", data=json.dumps(body), content_type="application/json", **headers
    )


def trigger(key, dedup_key="disk-full", summary="Disk full on db-1", severity="critical"):
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary,
            "source": "db-1.example.com",
            "severity": severity,
            "component": "postgres",
            "custom_details": {"free": "0.1%"},
        },
        "links": [{"href": "https://grafana.example.com/d/1", "text": "Dashboard"}],
    }


def kinds(incident):
    return list(incident.timeline.order_by("seq").values_list("kind", flat=True))


def test_a_trigger_opens_an_incident_reported_by_the_integration(client, prometheus):
    key, integration = prometheus
    with clock.frozen(T0):
        response = send(client, trigger(key))
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-full",
    }
    incident = Incident.objects.get()
    assert incident.title == "Disk full on db-1"
    assert incident.reporter == integration.actor
    assert incident.status == "reported"
    assert "- Severity: critical (P1)" in incident.description
    assert "[Dashboard](https://grafana.example.com/d/1)" in incident.description
    assert incident.ack_due_at is not None and incident.ack_due_at > T0
    assert kinds(incident) == ["reported", "alert_triggered"]
    entry = incident.timeline.get(kind="alert_triggered")
    assert entry.data["policy_severity"] == "P1"
    assert entry.actor is None
    alert = Alert.objects.get()
    assert (alert.dedup_key, alert.count, alert.status, alert.incident) == (
        "disk-full",
        1,
        "triggered",
        incident,
    )


def test_a_repeat_counts_on_the_alert_not_on_the_timeline(client, prometheus):
    key, _ = prometheus
    with clock.frozen(T0) as c:
        send(client, trigger(key))
        c.advance(minutes=3)
        for _ in range(3):
            assert send(client, trigger(key)).status_code == 202
    incident = Incident.objects.get()
    assert kinds(incident) == ["reported", "alert_triggered"]
    alert = Alert.objects.get()
    assert alert.count == 4
    assert alert.last_seen_at == T0 + dt.timedelta(minutes=3)


def test_a_repeat_costs_a_lookup_and_one_update(client, prometheus, django_assert_max_num_queries):
    """The common event of a storm: no timeline entry, no delivery, no per-event fan-out."""
    key, _ = prometheus
    with clock.frozen(T0) as c:
        send(client, trigger(key))
        c.advance(minutes=1)
        # the routing key, then BEGIN, one UPDATE ... RETURNING and COMMIT
        with django_assert_max_num_queries(4):
            assert send(client, trigger(key)).status_code == 202
    assert Alert.objects.get().count == 2
    assert Alert.objects.get().last_seen_at == T0 + dt.timedelta(minutes=1)


def test_a_repeat_after_the_incident_ended_opens_a_new_one(client, prometheus, member):
    key, _ = prometheus
    with clock.frozen(T0) as c:
        send(client, trigger(key))
        first = Incident.objects.get()
        incidents.incident_reject(by=member, incident=first, reason="A test alert")
        c.advance(minutes=2)
        assert send(client, trigger(key)).status_code == 202
    assert Incident.objects.count() == 2
    assert Alert.objects.get(incident=first).count == 1


def test_a_trigger_without_a_dedup_key_gets_one_back(client, prometheus):
    key, _ = prometheus
    body = trigger(key)
    del body["dedup_key"]
    answer = send(client, body).json()
    assert len(answer["dedup_key"]) == 32
    assert Alert.objects.get().dedup_key == answer["dedup_key"]


def test_acknowledge_acknowledges_the_incident(client, prometheus):
    key, integration = prometheus
    send(client, trigger(key))
    response = send(
        client, {"routing_key": key, "event_action": "acknowledge", "dedup_key": "disk-full"}
    )
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.acknowledged_at is not None
    assert incident.timeline.get(kind="acknowledged").actor == integration.actor
    assert Alert.objects.get().status == "acknowledged"


def test_resolving_every_alert_says_so_once_and_a_person_still_resolves(client, prometheus):
    key, _ = prometheus
    send(client, trigger(key, "disk-full"))
    incident = Incident.objects.get()
    resolve = {"routing_key": key, "event_action": "resolve", "dedup_key": "disk-full"}
    assert send(client, resolve).status_code == 202
    assert Alert.objects.get().status == "resolved"
    incident.refresh_from_db()
    assert incident.status == "reported"
    assert kinds(incident) == ["reported", "alert_triggered", "alerts_resolved"]
    assert incident.timeline.get(kind="alerts_resolved").data["auto_resolve"] is False
    # a second resolve for a resolved alert is dropped, as PagerDuty drops it
    assert send(client, resolve).status_code == 202
    assert kinds(incident) == ["reported", "alert_triggered", "alerts_resolved"]


def test_auto_resolve_waits_for_the_last_alert_of_the_incident(client, manager, member):
    key, _ = services.integration_create(by=manager, name="Grafana", auto_resolve=True)
    with clock.frozen(T0):
        for n in range(5):
            send(client, trigger(key, f"host-{n}"))
        send(client, trigger(key, "late"))  # past the bound of 5 a minute: joins the newest
    incident = Incident.objects.order_by("-id").first()
    assert sorted(incident.alerts.values_list("dedup_key", flat=True)) == ["host-4", "late"]
    incidents.incident_categorize(
        by=member,
        incident=incident,
        type="performance",
        severity="P2",
        impact="most",
        reason="from the alert",
    )

    def resolve(dedup_key):
        body = {"routing_key": key, "event_action": "resolve", "dedup_key": dedup_key}
        assert send(client, body).status_code == 202
        incident.refresh_from_db()

    resolve("host-4")
    assert incident.status == "triaged"
    assert "alerts_resolved" not in kinds(incident)
    resolve("late")
    assert incident.status == "resolved"
    assert incident.resolution_summary == "Every alert of this incident was resolved by Grafana."
    assert kinds(incident)[-2:] == ["alerts_resolved", "resolved"]


def test_a_storm_opens_a_bounded_number_of_incidents(client, prometheus):
    key, _ = prometheus
    with clock.frozen(T0) as c:
        for n in range(40):
            assert send(client, trigger(key, f"host-{n}", f"Host {n} down")).status_code == 202
        assert Incident.objects.count() == 5
        assert Alert.objects.count() == 40
        newest = Incident.objects.order_by("-id").first()
        assert Alert.objects.filter(incident=newest).count() == 36
        c.advance(seconds=61)
        send(client, trigger(key, "host-40", "Host 40 down"))
    assert Incident.objects.count() == 6


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (lambda b: b.pop("event_action"), ["'event_action' is missing or blank"]),
        (
            lambda b: b.update(event_action="escalate"),
            ["'event_action' must be one of trigger, acknowledge, resolve"],
        ),
        (
            lambda b: b["payload"].update(summary="", severity="fatal"),
            [
                "'payload.summary' is missing or blank",
                "'payload.severity' must be one of critical, error, warning, info",
            ],
        ),
        (lambda b: b.pop("payload"), ["'payload' is missing or is not an object"]),
        (
            lambda b: b["payload"].update(timestamp="yesterday"),
            ["'payload.timestamp' is not a valid ISO 8601 timestamp"],
        ),
        (
            lambda b: b.update(routing_key="0" * 32),
            ["'routing_key' is not the key of an active integration"],
        ),
        (
            # a lone surrogate can be no integration's key: refused like any unknown key
            lambda b: b.update(routing_key="key\ud800"),
            ["'routing_key' is not the key of an active integration"],
        ),
        (lambda b: b.pop("routing_key"), ["'routing_key' is missing or blank"]),
        (
            lambda b: b.update(event_action="resolve", dedup_key=""),
            ["'dedup_key' is missing or blank"],
        ),
    ],
)
def test_an_invalid_event_gets_pagerdutys_400_and_writes_nothing(
    client, prometheus, change, errors
):
    key, _ = prometheus
    body = trigger(key)
    change(body)
    response = send(client, body)
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": errors,
    }
    assert not Incident.objects.exists()
    assert not Alert.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_broken_json_a_revoked_key_and_a_get_write_nothing(client, prometheus):
    key, _ = prometheus
    broken = client.post("/v2/enqueue", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["errors"] == ["Event body is not valid JSON"]
    assert client.get("/v2/enqueue").status_code == 405
    services.integration_revoke(by=None, name="Prometheus")
    assert send(client, trigger(key)).status_code == 400
    assert not Incident.objects.exists()


def test_the_routing_key_may_come_in_the_header(client, prometheus):
    key, _ = prometheus
    body = trigger(key)
    del body["routing_key"]
    assert send(client, body, HTTP_X_ROUTING_KEY=key).status_code == 202
    assert Incident.objects.count() == 1


def test_a_change_event_is_noted_on_open_incidents(client, prometheus):
    key, _ = prometheus
    send(client, trigger(key))
    response = client.post(
        "/v2/change/enqueue",
        data=json.dumps(
            {
                "routing_key": key,
                "payload": {"summary": "Deployed api v42", "source": "ci"},
                "links": [{"href": "https://ci.example.com/42"}],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    entry = Incident.objects.get().timeline.get(kind="change_noted")
    assert entry.data["summary"] == "Deployed api v42"
    bad = client.post(
        "/v2/change/enqueue",
        data=json.dumps({"routing_key": key, "payload": {}}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == ["'payload.summary' is missing or blank"]
    assert TimelineEntry.objects.filter(kind="change_noted").count() == 1
