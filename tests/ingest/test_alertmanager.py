"""Debian's real Alertmanager sends to IncidentDesk through both of its ways: a webhook
receiver and a `pagerduty_configs` receiver pointed at /v2/enqueue. Alerts posted to its API
open incidents, are deduplicated, and are marked resolved."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable

import pytest

from incidentdesk.incidents.models import Incident
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Alert

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

pytestmark = pytest.mark.skipif(
    not shutil.which("prometheus-alertmanager"),
    reason="needs Debian's prometheus-alertmanager (.ci/run installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    """Poll until Alertmanager's notification has been handled (it sends on its own time)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


CONFIG = """
route:
  receiver: webhook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: pagerduty
      matchers: ['via="pagerduty"']
receivers:
  - name: webhook
    webhook_configs:
      - url: {base}/api/v1/integrations/{webhook_key}/alertmanager
        send_resolved: true
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {pagerduty_key}
        url: {base}/v2/enqueue
        send_resolved: true
"""


@pytest.fixture
def alertmanager(live_server, manager, tmp_path):
    webhook_key, webhook = services.integration_create(by=manager, name="Alertmanager webhook")
    pagerduty_key, pagerduty = services.integration_create(
        by=manager, name="Alertmanager PagerDuty"
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        CONFIG.format(base=live_server.url, webhook_key=webhook_key, pagerduty_key=pagerduty_key)
    )
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "alertmanager.log").open("wb"),
    )
    api = f"http://127.0.0.1:{port}/api/v2"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{api}/status", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    try:
        wait_for(ready, "Alertmanager answers")
        yield api, webhook, pagerduty
    finally:
        process.terminate()
        process.wait(timeout=30)


def post_alerts(api: str, *alerts: dict) -> None:
    request = urllib.request.Request(
        f"{api}/alerts",
        data=json.dumps(list(alerts)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def alert(name: str, instance: str, *, via: str = "webhook", resolved: bool = False) -> dict:
    now = dt.datetime.now(dt.UTC)
    body = {
        "labels": {"alertname": name, "instance": instance, "severity": "critical", "via": via},
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": (now - dt.timedelta(minutes=1)).isoformat(),
    }
    if resolved:
        body["endsAt"] = (now - dt.timedelta(seconds=1)).isoformat()
    return body


@pytest.mark.django_db(transaction=True)
def test_a_real_alertmanager_opens_deduplicates_and_resolves(alertmanager):
    api, webhook, pagerduty = alertmanager

    # the webhook receiver: one group, two alerts, one incident
    post_alerts(api, alert("DiskFull", "db-1"))
    wait_for(lambda: Alert.objects.filter(integration=webhook).count() == 1, "first alert")
    post_alerts(api, alert("DiskFull", "db-2"))
    wait_for(lambda: Alert.objects.filter(integration=webhook).count() == 2, "second alert")
    first = Alert.objects.get(integration=webhook, summary="DiskFull on db-1")
    wait_for(lambda: Alert.objects.get(pk=first.pk).count >= 2, "the group repeated db-1")
    incident = Incident.objects.get(reporter=webhook.actor)
    assert incident.title == "DiskFull on db-1"
    assert set(Alert.objects.filter(integration=webhook).values_list("incident", flat=True)) == {
        incident.pk
    }
    wait_for(
        lambda: incident.timeline.filter(kind="alert_triggered").count() == 2,
        "the second alert's entry on the incident",
    )

    post_alerts(api, alert("DiskFull", "db-1", resolved=True))
    post_alerts(api, alert("DiskFull", "db-2", resolved=True))
    wait_for(lambda: incident.timeline.filter(kind="alerts_resolved").exists(), "alerts resolved")
    assert set(Alert.objects.filter(integration=webhook).values_list("status", flat=True)) == {
        "resolved"
    }

    # the pagerduty_configs receiver: one event per group, by its dedup key
    post_alerts(api, alert("QueueStuck", "mq-1", via="pagerduty"))
    wait_for(lambda: Alert.objects.filter(integration=pagerduty).exists(), "PagerDuty event")
    post_alerts(api, alert("QueueStuck", "mq-2", via="pagerduty"))
    wait_for(
        lambda: Alert.objects.get(integration=pagerduty).count >= 2, "the group's second event"
    )
    page_incident = Incident.objects.get(reporter=pagerduty.actor)
    assert page_incident.title.startswith("[FIRING:1] QueueStuck")
    assert Alert.objects.filter(integration=pagerduty).count() == 1

    post_alerts(
        api,
        alert("QueueStuck", "mq-1", via="pagerduty", resolved=True),
        alert("QueueStuck", "mq-2", via="pagerduty", resolved=True),
    )
    wait_for(
        lambda: Alert.objects.get(integration=pagerduty).status == "resolved", "PagerDuty resolve"
    )
    # on SQLite the live server shares the test's in-memory connection, so the alert's new
    # status can be read before the same transaction has written the incident's entry
    wait_for(
        lambda: page_incident.timeline.filter(kind="alerts_resolved").exists(),
        "PagerDuty resolve on the timeline",
    )
    assert page_incident.timeline.filter(kind="alerts_resolved").count() == 1
    assert Incident.objects.count() == 2
