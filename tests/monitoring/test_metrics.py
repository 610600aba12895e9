"""/metrics: who may read it, and what a Prometheus server reads there (parsed with
prometheus_client's own text parser)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from incidentdesk.accounts.models import ApiToken
from incidentdesk.accounts.services import token_create
from incidentdesk.comms.services import message_queue
from incidentdesk.core.errors import InvalidInput
from tests.cli.helpers import sqlite_only
from tests.comms.conftest import free_port
from tests.core.test_faults import _wait

pytestmark = pytest.mark.django_db


def _samples(text: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _value(samples: list, **labels: str) -> float:
    return sum(x.value for x in samples if all(x.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture
def metrics_token(admin):
    raw, _ = token_create(by=None, user=admin, name="prometheus", scope="metrics")
    return raw


def test_metrics_hidden_from_anyone_not_allowed(client, member, token_for):
    assert client.get("/metrics").status_code == 404
    client.force_login(member)
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("scope", ["read", "write"])
def test_metrics_refuse_an_api_token(client, admin, scope):
    raw, _ = token_create(by=None, user=admin, scope=scope)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer idk_wrong").status_code == 401


def test_metrics_token_reads_requests_queues_and_deliveries(client, metrics_token):
    message_queue(
        channel="email", recipient="ops@example.test", subject="Hi", body_markdown="Hi", key="k1"
    )
    for _ in range(3):
        assert client.get("/status/").status_code == 200
    assert client.get("/incidents/INC-999999").status_code in (302, 404)

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = _samples(response.content.decode())
    requests = found["incidentdesk_http_requests_total"]
    assert _value(requests, route="statuspage:page", method="GET", status="200") >= 3
    assert not [x for x in requests if "INC-" in x.labels["route"]]  # routes, not paths
    buckets = found["incidentdesk_http_request_duration_seconds_bucket"]
    assert _value(buckets, route="statuspage:page", le="+Inf") >= 3
    assert _value(found["incidentdesk_tasks_waiting"], queue="default") >= 1
    assert _value(found["incidentdesk_tasks_oldest_waiting_seconds"], queue="default") >= 0
    assert _value(found["incidentdesk_deliveries"], state="queued") >= 1
    assert _value(found["incidentdesk_deliveries"], state="failed") == 0
    assert _value(found["incidentdesk_tasks_waiting"], queue="subscribers") == 0


def test_metrics_allow_list_admits_listed_addresses_not_forwarded_ones(client, settings):
    settings.METRICS_ALLOW = [ipaddress.ip_network("127.0.0.0/8")]
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404
    # through a proxy the peer is the proxy: the allow-list never applies
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 404
    assert client.post("/metrics").status_code == 405


def test_metrics_token_is_no_key_to_the_api(client, metrics_token):
    response = client.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
    assert response.status_code == 403
    assert "only reads /metrics" in response.json()["detail"]


def test_only_an_administrator_gets_a_metrics_token(member):
    with pytest.raises(InvalidInput) as refused:
        token_create(by=member, user=member, scope="metrics")
    assert refused.value.errors[0].field == "scope"
    assert not ApiToken.objects.filter(user=member).exists()


@sqlite_only
def test_metrics_add_up_over_serves_web_processes(tmp_path: Path) -> None:
    """Two web processes under one `serve`: whichever answers the scrape counts both."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENTDESK_", "PROM"))}
    env.update(INCIDENTDESK_DATA_DIR=str(tmp_path), INCIDENTDESK_METRICS_ALLOW="127.0.0.1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cli = [sys.executable, "-m", "incidentdesk.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [*cli, "serve", "--no-worker", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait(lambda: _get(f"{base}/healthz") is not None, 120)
        for _ in range(40):
            assert _get(f"{base}/healthz") is not None
        counts = []  # 41 answers: the one that found it up, then 40
        for _ in range(6):
            text = _get(f"{base}/metrics")
            assert text is not None
            requests = _samples(text)["incidentdesk_http_requests_total"]
            counts.append(_value(requests, route="healthz", method="GET", status="200"))
        assert counts == [41] * 6
        assert list((tmp_path / "metrics").glob("serve-*/counter_*.db"))
    finally:
        os.killpg(serve.pid, 15)
        serve.wait(timeout=60)


def _get(url: str) -> str | None:
    try:
        return urllib.request.urlopen(url, timeout=10).read().decode()
    except OSError:
        time.sleep(0.2)
        return None
