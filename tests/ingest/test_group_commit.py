"""`alerts_receive_batch`, what the served front's group commit calls: several senders'
events in one transaction, each with its own outcome; a revoked integration's event is
refused there (its key may still be in a process's cache) and writes nothing."""

from __future__ import annotations

from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Alert


def trigger(key: str) -> services.AlertEvent:
    return services.AlertEvent(
        action="trigger", dedup_key=key, summary=f"{key} failing", source="web-1", severity="error"
    )


def test_a_batch_counts_repeats_opens_new_alerts_and_refuses_a_revoked_key(manager):
    _, prometheus = services.integration_create(by=manager, name="Prometheus")
    _, kuma = services.integration_create(by=manager, name="Uptime Kuma")
    first = services.alert_receive(integration=prometheus, event=trigger("disk"))
    assert first.alert is not None
    services.integration_revoke(by=manager, name="Uptime Kuma")
    entries = TimelineEntry.objects.count()

    results = services.alerts_receive_batch(
        [
            (prometheus, trigger("disk")),
            (kuma, trigger("ping")),
            (prometheus, trigger("disk")),
            (prometheus, trigger("api")),
            (prometheus, services.AlertEvent(action="resolve", dedup_key="api")),
        ]
    )

    repeat, refused, again, new, resolved = results
    assert isinstance(repeat, services.Outcome) and isinstance(again, services.Outcome)
    assert repeat.incident_id == again.incident_id == first.alert.incident_id
    assert refused == ["'routing_key' is not the key of an active integration"]
    assert isinstance(new, services.Outcome) and new.opened
    assert isinstance(resolved, services.Outcome) and resolved.alert is not None
    assert Alert.objects.get(dedup_key="disk").count == 3
    assert Alert.objects.get(dedup_key="api").status == "resolved"
    assert not Alert.objects.filter(integration=kuma).exists()
    assert Incident.objects.count() == 2
    # the repeats wrote no timeline entry; the new alert and its resolution did
    kinds = TimelineEntry.objects.order_by("id").values_list("kind", flat=True)[entries:]
    assert "alert_triggered" in kinds and "alerts_resolved" in kinds
