"""Statuspage's public subscriber endpoints (`POST /api/v2/subscribers.json`, `GET` and
`DELETE /api/v2/subscribers/{id}.json`), as a client written for Statuspage calls them: no
credentials, no CSRF token, form-encoded `subscriber[...]` fields or JSON."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from incidentdesk.incidents.services import incident_post_update, incident_report
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import Subscriber

from .conftest import run_worker

CONFIRM = re.compile(r"http://\S+(/status/subscriptions/confirm/[^/\s]+/)")
SUBSCRIBER_KEYS = {
    "id",
    "mode",
    "email",
    "endpoint",
    "created_at",
    "quarantined_at",
    "purge_at",
    "skip_confirmation_notification",
    "incident",
    "components",
}


@pytest.fixture
def statuspage_client() -> Client:
    """A client as a Statuspage tool is: CSRF enforced, no session."""
    return Client(enforce_csrf_checks=True)


def _subscribe(client: Client, **fields: str) -> dict:
    data = {f"subscriber[{k}]": v for k, v in fields.items()}
    response = client.post("/api/v2/subscribers.json", data)
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["subscriber"]


def _confirm_link(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return CONFIRM.search(text).group(1)


def test_an_email_subscribes_confirms_reads_and_deletes_itself(
    statuspage_client, smtp, member, api_component
):
    subscriber = _subscribe(statuspage_client, email="reader@example.org")
    assert set(subscriber) == SUBSCRIBER_KEYS
    assert subscriber["mode"] == "email" and subscriber["email"] == "reader@example.org"
    url = f"/api/v2/subscribers/{subscriber['id']}.json"
    assert statuspage_client.get(url).status_code == 404, "not confirmed yet"

    run_worker()
    [mail] = smtp.to("reader@example.org")
    assert statuspage_client.get(_confirm_link(mail)).status_code == 200
    shown = statuspage_client.get(url)
    assert shown.status_code == 200
    assert shown.json()["subscriber"]["email"] == "reader@example.org"

    gone = statuspage_client.delete(url)
    assert gone.status_code == 200
    assert gone.json()["subscriber"]["id"] == subscriber["id"]
    assert statuspage_client.get(url).status_code == 404
    incident = incident_report(by=member, title="API errors")
    services.incident_publish(by=member, incident=incident.ref)
    run_worker()
    assert len(smtp.to("reader@example.org")) == 1


def test_a_webhook_subscribes_with_endpoint_and_confirms_at_its_url(
    statuspage_client, http_receiver, member, api_component
):
    base, received = http_receiver
    response = statuspage_client.post(
        "/api/v2/subscribers.json",
        json.dumps(
            {
                "subscriber": {
                    "email": "ops@example.org",
                    "endpoint": base + "/hook",
                    "component_ids": [str(api_component.pk)],
                }
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    subscriber = response.json()["subscriber"]
    assert subscriber["mode"] == "webhook" and subscriber["endpoint"] == base + "/hook"
    assert subscriber["components"] == [str(api_component.pk)]
    run_worker()
    confirmation = received.json()["subscription_confirmation"]
    confirm_path = "/" + confirmation["confirm_url"].split("://", 1)[1].split("/", 1)[1]
    statuspage_client.get(confirm_path)
    shown = statuspage_client.get(f"/api/v2/subscribers/{subscriber['id']}.json").json()
    assert shown["subscriber"]["components"] == [str(api_component.pk)]

    incident = incident_report(by=member, title="API errors")
    services.incident_link_component(by=member, incident=incident.ref, component=api_component.pk)
    services.incident_publish(by=member, incident=incident.ref)
    incident_post_update(by=member, incident=incident.ref, status="identified", body="Found.")
    run_worker()
    notices = [json.loads(body) for _, _, body in received.requests[1:]]
    assert any(n.get("incident", {}).get("name") == "API errors" for n in notices)


def test_subscribing_a_known_address_answers_alike_and_gives_no_hold_on_it(
    statuspage_client, smtp, db
):
    owner = _subscribe(statuspage_client, email="reader@example.org")
    run_worker()
    [mail] = smtp.to("reader@example.org")
    statuspage_client.get(_confirm_link(mail))

    known = _subscribe(statuspage_client, email="reader@example.org")
    unknown = _subscribe(statuspage_client, email="nobody@example.org")
    for field in ("id", "email", "created_at"):
        known.pop(field), unknown.pop(field)
    assert known == unknown

    stranger = f"/api/v2/subscribers/{_subscribe(statuspage_client, email='reader@example.org')['id']}.json"
    assert statuspage_client.get(stranger).status_code == 404
    assert statuspage_client.delete(stranger).status_code == 404
    assert Subscriber.objects.get(address="reader@example.org").unsubscribed_at is None
    assert statuspage_client.get(f"/api/v2/subscribers/{owner['id']}.json").status_code == 200


@pytest.mark.parametrize(
    "data, field",
    [
        ({"subscriber[email]": "not-an-address"}, "subscriber[email]"),
        ({"subscriber[email]": ""}, "subscriber[email]"),
        ({"subscriber[endpoint]": "http://127.0.0.1.:9001/"}, "subscriber[endpoint]"),
        (
            {"subscriber[email]": "a@example.org", "subscriber[component_ids][]": "999"},
            "subscriber[component_ids]",
        ),
    ],
)
def test_bad_input_is_a_json_422_that_writes_nothing(statuspage_client, db, data, field):
    response = statuspage_client.post("/api/v2/subscribers.json", data)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] and body["errors"][0]["field"] == field
    assert not Subscriber.objects.exists()


def test_malformed_json_and_other_methods_answer_json_never_the_csrf_page(statuspage_client, db):
    bad = statuspage_client.post(
        "/api/v2/subscribers.json", "{nope", content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["detail"] == "The body is not valid JSON."
    for method, path, status in [
        ("put", "/api/v2/subscribers.json", 405),
        ("get", "/api/v2/subscribers.json", 405),
        ("post", "/api/v2/summary.json", 405),
        ("delete", "/api/v2/components.json", 405),
        ("post", "/api/v2/subscribers/sps_x.json", 405),
        ("post", "/api/v2/no-such-thing.json", 404),
        ("delete", "/api/v2/subscribers/sps_unknown.json", 404),
    ]:
        response = getattr(statuspage_client, method)(path)
        assert response.status_code == status, (method, path)
        assert response["Content-Type"].startswith("application/json"), (method, path)
        assert "detail" in response.json()
    assert not Subscriber.objects.exists()


def test_one_client_is_limited_and_others_are_not(statuspage_client, settings, db):
    settings.STATUSPAGE_SUBSCRIBE_PER_HOUR = 2
    for i in range(2):
        _subscribe(statuspage_client, email=f"r{i}@example.org")
    refused = statuspage_client.post(
        "/api/v2/subscribers.json", {"subscriber[email]": "r9@example.org"}
    )
    assert refused.status_code == 429
    assert refused.json()["errors"] == []
    assert not Subscriber.objects.filter(address="r9@example.org").exists()
    other = statuspage_client.post(
        "/api/v2/subscribers.json", {"subscriber[email]": "r9@example.org"}, REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 201
