"""Signed webhooks to a real HTTP server, and Apprise to a json:// receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from incidentdesk.comms import services
from incidentdesk.comms.models import Channel, Delivery
from incidentdesk.core import crypto
from incidentdesk.incidents import services as s

from .conftest import deliver_due


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of the Standard Webhooks scheme, written from the specification."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [sig.split(",", 1)[1] for sig in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


@pytest.fixture
def p1(manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    return incident


def test_channel_webhook_is_signed_and_verifiable(http_receiver, admin, member, p1):
    url, received = http_receiver
    _, secret = services.channel_create(
        by=admin,
        name="Northwind hook",
        kind="webhook",
        url=f"{url}/hook",
        audiences=["stakeholders"],
    )
    assert secret.startswith("whsec_")
    s.incident_categorize(
        by=member, incident=p1, type="functionality", severity="P1", impact="all", reason="r"
    )
    deliver_due()
    (path, headers, body) = received.requests[-1]
    assert path == "/hook"
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    assert verify_standard_webhook(secret, headers, body)
    assert not verify_standard_webhook(services.new_webhook_secret(), headers, body)
    payload = received.json()
    assert payload["type"] == "incident.categorized"
    assert payload["data"]["incident"] == p1.ref
    assert Delivery.objects.get(channel="webhook").state == "sent"


def test_channel_secrets_are_encrypted_at_rest(admin):
    channel, _ = services.channel_create(
        by=admin,
        name="Ops chat",
        kind="apprise",
        url="json://127.0.0.1:9/hook?token=s3cret",
        audiences=["team"],
    )
    stored = Channel.objects.get(pk=channel.pk)
    assert "s3cret" not in stored.url_encrypted
    assert crypto.decrypt(stored.url_encrypted).endswith("token=s3cret")
    assert stored.url_hint == "json://127.0.0.1:9/…"


def test_message_queue_webhook_with_payload_and_secret(http_receiver):
    url, received = http_receiver
    secret = services.new_webhook_secret()
    services.message_queue(
        channel="webhook",
        recipient=f"{url}/subscriber",
        subject="Incident update",
        body_markdown="",
        key="sub-1",
        payload={"event": "incident.updated", "id": 7},
        secret=secret,
    )
    deliver_due()
    _, headers, body = received.requests[-1]
    assert received.json() == {"event": "incident.updated", "id": 7}
    assert verify_standard_webhook(secret, headers, body)


def test_webhook_server_error_is_retried(http_receiver):
    url, received = http_receiver
    received.status = 503
    services.message_queue(
        channel="webhook", recipient=url, subject="s", body_markdown="b", key="w-503", payload={}
    )
    assert deliver_due() == ["retry"]
    delivery = Delivery.objects.get(key="w-503")
    assert (delivery.state, delivery.last_error) == ("queued", "HTTP 503 Service Unavailable")


def test_webhook_refusal_is_permanent(http_receiver):
    url, received = http_receiver
    received.status = 410
    services.message_queue(
        channel="webhook", recipient=url, subject="s", body_markdown="b", key="w-410", payload={}
    )
    assert deliver_due() == ["failed"]
    assert Delivery.objects.get(key="w-410").last_error == "HTTP 410 Gone"


def test_apprise_channel_posts_to_a_json_receiver(http_receiver, admin, manager, stakeholder):
    url, received = http_receiver
    port = url.rsplit(":", 1)[1]
    services.channel_create(
        by=admin,
        name="Team chat",
        kind="apprise",
        url=f"json://127.0.0.1:{port}/chat",
        audiences=["manager"],
    )
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    deliver_due()
    chat = [r for r in received.requests if r[0] == "/chat"]
    assert len(chat) == 1
    body = received.json(received.requests.index(chat[0]))
    assert body["title"] == f"[{incident.ref}] New incident: Checkout errors"
    assert incident.ref in body["message"]
    delivery = Delivery.objects.get(channel="apprise")
    assert delivery.state == "sent"
    assert delivery.recipient == f"json://127.0.0.1:{port}/…"


def test_apprise_unreachable_is_retried(settings, manager, stakeholder):
    from .conftest import free_port

    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]

    services.message_queue(
        channel="apprise",
        recipient=f"json://127.0.0.1:{free_port()}/",
        subject="s",
        body_markdown="b",
        key="a-down",
    )
    assert deliver_due() == ["retry"]


def test_malformed_urls_and_templates_are_refused_with_the_reason(admin):
    from incidentdesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as bad_url:
        services.channel_create(
            by=admin, name="x", kind="apprise", url="nonsense", audiences=["team"]
        )
    assert bad_url.value.errors[0].field == "url"
    with pytest.raises(InvalidInput) as bad_hook:
        services.channel_create(
            by=admin, name="x", kind="webhook", url="ftp://h/", audiences=["team"]
        )
    assert bad_hook.value.errors[0].field == "url"
    with pytest.raises(InvalidInput) as bad_template:
        services.channel_create(
            by=admin,
            name="x",
            kind="webhook",
            url="https://example.test/h",
            audiences=["team"],
            template="Subject\n{% if %}",
        )
    assert bad_template.value.errors[0].field == "template"
    assert "syntax" in bad_template.value.errors[0].message
    assert not Channel.objects.exists()
