"""PagerDuty's own Python client, pointed at IncidentDesk instead of PagerDuty, drives an
alert from trigger to resolve over real HTTP."""

from __future__ import annotations

import pagerduty
import pytest

from incidentdesk.incidents.models import Incident
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Alert

from .tls import https_front


@pytest.fixture
def events_url(live_server, tmp_path):
    """PagerDuty's client accepts only https: the live server behind a TLS front."""
    with https_front(live_server.url, tmp_path) as (url, context):
        yield url, context


@pytest.mark.django_db(transaction=True)
def test_pagerdutys_client_triggers_repeats_acknowledges_and_resolves(events_url, manager):
    key, integration = services.integration_create(by=manager, name="Checkout probes")
    url, context = events_url
    client = pagerduty.EventsApiV2Client(key, base_url=url, verify=context)

    dedup_key = client.trigger(
        "Checkout returns 502", "lb-1.example.com", severity="error", custom_details={"p99": 4}
    )
    assert client.trigger("Checkout returns 502", "lb-1.example.com", dedup_key=dedup_key) == (
        dedup_key
    )
    incident = Incident.objects.get()
    assert incident.title == "Checkout returns 502"
    assert incident.reporter == integration.actor
    assert Alert.objects.get().count == 2

    client.acknowledge(dedup_key)
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None

    client.resolve(dedup_key)
    assert Alert.objects.get().status == "resolved"
    assert incident.timeline.filter(kind="alerts_resolved").count() == 1

    client.send_change_event(payload={"summary": "Rolled back checkout", "source": "deploy"})
    assert incident.timeline.get(kind="change_noted").data["summary"] == "Rolled back checkout"


@pytest.mark.django_db(transaction=True)
def test_pagerdutys_client_sees_the_refusal_of_an_unknown_key(events_url, manager):
    url, context = events_url
    client = pagerduty.EventsApiV2Client("f" * 32, base_url=url, verify=context)
    with pytest.raises(pagerduty.Error) as caught:
        client.trigger("Disk full", "db-1")
    assert caught.value.response.status_code == 400
    assert caught.value.response.json()["status"] == "invalid event"
    assert not Incident.objects.exists()
