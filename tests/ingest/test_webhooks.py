"""Alertmanager's webhook and the generic alert webhook under /api/v1/integrations/{key}/."""

from __future__ import annotations

import json

import pytest

from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Alert


@pytest.fixture
def key(manager):
    raw, _ = services.integration_create(by=manager, name="Alertmanager")
    return raw


def post(client, path, body):
    return client.post(f"/api/v1{path}", data=json.dumps(body), content_type="application/json")


def am_alert(fingerprint, status="firing", instance="db-1:9100", severity="critical"):
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": instance, "severity": severity},
        "annotations": {"summary": f"Disk full on {instance}"},
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": fingerprint,
    }


def am_payload(*alerts, status="firing", group_key='{}:{alertname="DiskFull"}'):
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incidentdesk",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def test_a_group_of_alerts_opens_one_incident_and_repeats_count(client, key):
    response = post(client, f"/integrations/{key}/alertmanager", am_payload(am_alert("aa")))
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert response.json() == {"accepted": 1, "incidents": [incident.ref]}
    assert incident.title == "Disk full on db-1:9100"
    assert "- Severity: critical (P1)" in incident.description

    # the group's next notification repeats the first alert and adds a second
    both = am_payload(am_alert("aa"), am_alert("bb", instance="db-2:9100"))
    assert post(client, f"/integrations/{key}/alertmanager", both).json() == {
        "accepted": 2,
        "incidents": [incident.ref],
    }
    assert Incident.objects.count() == 1
    assert dict(Alert.objects.values_list("dedup_key", "count")) == {"aa": 2, "bb": 1}
    assert incident.timeline.filter(kind="alert_triggered").count() == 2

    resolved = am_payload(
        am_alert("aa", "resolved"), am_alert("bb", "resolved", "db-2:9100"), status="resolved"
    )
    assert post(client, f"/integrations/{key}/alertmanager", resolved).status_code == 202
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}
    assert incident.timeline.filter(kind="alerts_resolved").count() == 1
    incident.refresh_from_db()
    assert incident.status == "reported"


def test_another_group_opens_another_incident(client, key):
    post(client, f"/integrations/{key}/alertmanager", am_payload(am_alert("aa")))
    other = am_payload(am_alert("cc"), group_key='{}:{alertname="CpuHigh"}')
    refs = post(client, f"/integrations/{key}/alertmanager", other).json()["incidents"]
    assert refs == [Incident.objects.order_by("-id").first().ref]
    assert Incident.objects.count() == 2


def test_an_unknown_key_or_a_bad_payload_is_refused_and_writes_nothing(client, key):
    unknown = post(client, "/integrations/nope/alertmanager", am_payload(am_alert("aa")))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No active integration has this key.", "errors": []}
    bad = am_payload(am_alert("aa"))
    bad["version"] = "3"
    del bad["alerts"][0]["fingerprint"]
    refused = post(client, f"/integrations/{key}/alertmanager", bad)
    assert refused.status_code == 422
    assert sorted(e["field"] for e in refused.json()["errors"]) == [
        "alerts.0.fingerprint",
        "version",
    ]
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_the_generic_webhook_fires_acknowledges_and_resolves(client, key):
    fire = {"key": "checkout-5xx", "title": "Checkout 5xx above 2%", "severity": "warning"}
    response = post(client, f"/integrations/{key}/alerts", fire)
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.title == "Checkout 5xx above 2%"
    assert "- Severity: warning (P3)" in incident.description
    post(client, f"/integrations/{key}/alerts", {"key": "checkout-5xx", "status": "acknowledged"})
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    batch = [{"key": "checkout-5xx", "status": "resolved"}]
    assert post(client, f"/integrations/{key}/alerts", batch).json()["accepted"] == 1
    assert Alert.objects.get().status == "resolved"


def test_the_generic_webhook_refuses_unknown_fields_and_writes_nothing(client, key):
    refused = post(client, f"/integrations/{key}/alerts", {"key": "x", "sevrity": "critical"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Invalid input."
    assert not Incident.objects.exists()


def test_grafanas_webhook_contact_point_is_read_like_alertmanager(client, key):
    grafana = am_payload(am_alert("f1"))
    grafana.update(version="1", orgId=1, title="[FIRING:1] DiskFull", state="alerting")
    grafana["alerts"][0].update(dashboardURL="", panelURL="", values={"A": 99.5})
    assert post(client, f"/integrations/{key}/alertmanager", grafana).status_code == 202
    assert Incident.objects.get().title == "Disk full on db-1:9100"
