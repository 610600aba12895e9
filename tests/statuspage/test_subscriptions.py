"""Subscriptions: e-mail with double opt-in through a real SMTP server, webhooks with
Statuspage-style JSON to a real HTTP server, and the bad input they refuse."""

from __future__ import annotations

import json
import re

import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import InvalidInput
from incidentdesk.incidents.services import incident_post_update, incident_report
from incidentdesk.statuspage import services, subscriptions
from incidentdesk.statuspage.models import Subscriber

from ..comms.test_webhook_apprise import verify_standard_webhook
from .conftest import run_worker
from .shapes import INCIDENT, check

LINK = re.compile(r"http://\S+/status/subscriptions/(confirm|unsubscribe)/[^/\s]+/")


def _links(mail, kind):
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return [m.group(0) for m in LINK.finditer(text) if m.group(1) == kind]


def _path(url):
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_email_double_opt_in_through_a_real_smtp_server(client, smtp, member, api_component):
    response = client.post("/status/subscribe/", {"kind": "email", "email": "reader@example.org"})
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    run_worker()
    [confirmation] = smtp.to("reader@example.org")
    assert "Confirm your subscription" in confirmation["Subject"]
    [confirm_url] = _links(confirmation, "confirm")
    assert _links(confirmation, "unsubscribe"), "every mail carries an unsubscribe link"

    # not confirmed yet: a published incident sends this address nothing
    first = incident_report(by=member, title="Checkout errors")
    services.incident_publish(by=member, incident=first.ref)
    run_worker()
    assert len(smtp.to("reader@example.org")) == 1

    page = client.get(_path(confirm_url))
    assert page.status_code == 200
    assert "Subscription confirmed" in page.content.decode()

    incident_post_update(
        by=member, incident=first.ref, status="identified", body="Payment gateway timeouts."
    )
    run_worker()
    [_, notice] = smtp.to("reader@example.org")
    assert "Checkout errors" in notice["Subject"]
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "Payment gateway timeouts." in text
    [unsubscribe_url] = _links(notice, "unsubscribe")
    assert notice["List-Unsubscribe"] == f"<{unsubscribe_url}>"

    form = client.get(_path(unsubscribe_url))
    assert form.status_code == 200
    done = client.post(_path(unsubscribe_url))
    assert "Unsubscribed" in done.content.decode()
    incident_post_update(
        by=member, incident=first.ref, status="monitoring", body="A fix is deployed."
    )
    run_worker()
    assert len(smtp.to("reader@example.org")) == 2


def test_resubscribing_mails_the_same_address_at_most_once_an_hour(client, smtp, db):
    with clock.frozen(clock.now()) as frozen:
        for _ in range(3):
            subscriptions.subscribe_email(email="Reader@Example.org")
        run_worker()
        assert len(smtp.to("reader@example.org")) == 1
        frozen.advance(minutes=61)
        subscriptions.subscribe_email(email="reader@example.org")
        run_worker()
    assert len(smtp.to("reader@example.org")) == 2
    assert Subscriber.objects.count() == 1


def test_subscribers_to_other_components_hear_nothing(smtp, member, api_component, manager):
    billing = services.component_create(by=manager, name="Billing")
    api_only = subscriptions.subscribe_email(email="api@example.org", components=[api_component.pk])
    billing_only = subscriptions.subscribe_email(
        email="billing@example.org", components=[billing.pk]
    )
    for requested in (api_only, billing_only):
        subscriptions.confirm(subscriptions.confirm_token(requested.request))
    incident = incident_report(by=member, title="API errors")
    services.incident_link_component(by=member, incident=incident.ref, component=api_component.pk)
    services.incident_publish(by=member, incident=incident.ref)
    run_worker()
    assert [m["Subject"] for m in smtp.to("api@example.org")][-1].endswith(
        "API errors: investigating"
    )
    assert len(smtp.to("billing@example.org")) == 1  # the confirmation only


@pytest.mark.parametrize(
    "address, message",
    [
        ("", "required"),
        ("not-an-address", "is not an e-mail address"),
        ("a@b", "is not an e-mail address"),
        ("x" * 250 + "@example.org", "At most"),
    ],
)
def test_malformed_addresses_are_refused_with_a_reason(client, db, address, message):
    with pytest.raises(InvalidInput) as exc:
        subscriptions.subscribe_email(email=address)
    assert message in exc.value.errors[0].message
    response = client.post("/status/subscribe/", {"kind": "email", "email": address})
    assert response.status_code == 422
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.org/hook", "starts with https://"),
        ("https://", "names a host"),
        ("https://user:pw@example.org/hook", "no user name or password"),
        ("http://127.0.0.1:8080/hook", "non-public address"),
        ("http://localhost/hook", "non-public address"),
        ("http://10.1.2.3/hook", "non-public address"),
        ("http://192.168.0.10/hook", "non-public address"),
        ("http://[::1]/hook", "non-public address"),
        ("http://169.254.169.254/latest/meta-data", "non-public address"),
        ("http://127.0.0.1.:9001/", "non-public address"),
        ("http://localhost.:9001/", "non-public address"),
        ("http://2130706433/hook", "non-public address"),
        ("http://[::ffff:127.0.0.1]/hook", "non-public address"),
        ("http://0.0.0.0:9001/", "non-public address"),
    ],
)
def test_bad_webhook_urls_are_refused_with_a_reason(client, db, url, message):
    with pytest.raises(InvalidInput) as exc:
        subscriptions.subscribe_webhook(url=url)
    assert message in exc.value.errors[0].message
    response = client.post(
        "/api/v1/statuspage/subscribers", {"url": url}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"
    assert not Subscriber.objects.exists()


def confirm_webhook(client, received) -> dict:
    """Follow the link in the confirmation the webhook URL received, as its owner would;
    returns that confirmation."""
    [confirmation] = [
        json.loads(body)["subscription_confirmation"]
        for _, _, body in received.requests
        if b"subscription_confirmation" in body
    ]
    assert client.get(_path(confirmation["confirm_url"])).status_code == 200
    return confirmation


def test_webhook_gets_statuspage_style_json_once_its_owner_confirms(
    client, http_receiver, member, api_component
):
    base, received = http_receiver
    response = client.post(
        "/api/v1/statuspage/subscribers",
        {"url": base + "/hook"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["token"].startswith("sps_")
    assert response.json()["confirmed"] is False
    run_worker()
    [(path, headers, _)] = received.requests
    assert path == "/hook"
    confirmation = received.json()["subscription_confirmation"]
    assert confirmation["secret"].startswith("whsec_")
    assert verify_standard_webhook(confirmation["secret"], headers, received.requests[0][2])

    # not confirmed yet: a published incident sends the URL nothing
    first = incident_report(by=member, title="Checkout errors")
    services.incident_publish(by=member, incident=first.ref)
    run_worker()
    assert len(received.requests) == 1

    confirm_webhook(client, received)
    incident = incident_report(by=member, title="API errors")
    services.incident_publish(by=member, incident=incident.ref)
    run_worker()
    [(path, headers, raw)] = received.requests[1:]
    assert path == "/hook"
    body = received.json()
    assert set(body) == {"meta", "page", "incident"}
    assert set(body["page"]) == {"id", "status_indicator", "status_description"}
    check(body["incident"], INCIDENT, "$.incident")
    assert body["incident"]["name"] == "API errors"
    assert verify_standard_webhook(confirmation["secret"], headers, raw)


def test_a_webhook_is_unsubscribed_with_its_token_and_an_unknown_token_is_404(settings, client, db):
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    requested = subscriptions.subscribe_webhook(url="http://127.0.0.1:9/hook")
    url = "/api/v1/statuspage/subscribers/unsubscribe"
    early = client.post(url, {"token": requested.handle}, content_type="application/json")
    assert early.status_code == 404, "the token names the subscription once it is confirmed"
    subscriptions.confirm(subscriptions.confirm_token(requested.request))
    wrong = client.post(url, {"token": "sps_nope"}, content_type="application/json")
    assert wrong.status_code == 404
    assert Subscriber.objects.get().unsubscribed_at is None
    done = client.post(url, {"token": requested.handle}, content_type="application/json")
    assert done.status_code == 204
    assert Subscriber.objects.get().unsubscribed_at is not None


def test_resubscribing_a_known_webhook_url_does_not_take_it_over(client, http_receiver, db):
    base, received = http_receiver
    url = "/api/v1/statuspage/subscribers"
    owner = client.post(url, {"url": base + "/hook"}, content_type="application/json").json()
    run_worker()
    confirmation = confirm_webhook(client, received)

    other = client.post(url, {"url": base + "/hook"}, content_type="application/json")
    assert other.status_code == 201
    assert set(other.json()) == set(owner) and other.json()["confirmed"] is False
    stolen = client.post(
        url + "/unsubscribe", {"token": other.json()["token"]}, content_type="application/json"
    )
    assert stolen.status_code == 404
    subscriber = Subscriber.objects.get()
    assert subscriber.unsubscribed_at is None
    assert subscriptions.crypto.decrypt(subscriber.secret_encrypted) == confirmation["secret"]
    done = client.post(
        url + "/unsubscribe", {"token": owner["token"]}, content_type="application/json"
    )
    assert done.status_code == 204


def test_a_confirmed_subscriptions_components_change_only_once_confirmed(
    client, smtp, manager, api_component
):
    billing = services.component_create(by=manager, name="Billing")
    first = subscriptions.subscribe_email(email="reader@example.org", components=[api_component.pk])
    subscriptions.confirm(subscriptions.confirm_token(first.request))
    with clock.frozen(clock.now()) as frozen:
        frozen.advance(minutes=61)
        response = client.post(
            "/status/subscribe/",
            {"kind": "email", "email": "reader@example.org", "components": [billing.pk]},
        )
        assert response.status_code == 200
        run_worker()
    subscriber = Subscriber.objects.get()
    assert [c.pk for c in subscriber.components.all()] == [api_component.pk]
    [first_mail, change] = smtp.to("reader@example.org")
    assert "change" not in first_mail.get_body(preferencelist=("plain",)).get_content()
    text = change.get_body(preferencelist=("plain",)).get_content()
    assert "change this address's subscription" in text and "Billing" in text
    client.get(_path(_links(change, "confirm")[0]))
    assert [c.pk for c in subscriber.components.all()] == [billing.pk]


def test_the_answer_does_not_tell_whether_an_address_is_subscribed(client, smtp, db):
    known = subscriptions.subscribe_email(email="known@example.org")
    subscriptions.confirm(subscriptions.confirm_token(known.request))
    answers = []
    for address in ("known@example.org", "unknown@example.org"):
        page = client.post("/status/subscribe/", {"kind": "email", "email": address})
        api = client.post(
            "/api/v1/statuspage/subscribers", {"email": address}, content_type="application/json"
        )
        body = api.json()
        answers.append(
            (
                page.status_code,
                _without_csrf(page.content.decode()).replace(address, "ADDRESS"),
                api.status_code,
                sorted(body),
                body["confirmed"],
            )
        )
    assert answers[0] == answers[1]


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_subscription_requests_are_limited_per_client(client, settings, db):
    settings.STATUSPAGE_SUBSCRIBE_PER_HOUR = 3
    url = "/api/v1/statuspage/subscribers"
    for i in range(3):
        ok = client.post(url, {"email": f"r{i}@example.org"}, content_type="application/json")
        assert ok.status_code == 201
    refused = client.post(url, {"email": "r9@example.org"}, content_type="application/json")
    assert refused.status_code == 429
    assert "subscription requests an hour" in refused.json()["detail"]
    page = client.post("/status/subscribe/", {"kind": "email", "email": "r9@example.org"})
    assert page.status_code == 429
    assert not Subscriber.objects.filter(address="r9@example.org").exists()
    elsewhere = client.post(
        url, {"email": "r9@example.org"}, content_type="application/json", REMOTE_ADDR="192.0.2.7"
    )
    assert elsewhere.status_code == 201


def test_webhooks_hear_of_component_changes_in_statuspage_shape(
    settings, client, http_receiver, smtp, member, api_component
):
    base, received = http_receiver
    requested = subscriptions.subscribe_webhook(url=base + "/hook")
    subscriptions.confirm(subscriptions.confirm_token(requested.request))
    client.post("/status/subscribe/", {"kind": "email", "email": "reader@example.org"})
    run_worker()
    [confirmation] = smtp.to("reader@example.org")
    client.get(_path(_links(confirmation, "confirm")[0]))

    incident = incident_report(by=member, title="API errors")
    services.incident_publish(by=member, incident=incident.ref)
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="major_outage"
    )
    run_worker()

    updates = [json for json in map(received.json, range(len(received.requests)))]
    [update] = [u for u in updates if "component_update" in u]
    assert set(update) == {"meta", "page", "component_update", "component"}
    assert update["component_update"]["old_status"] == "operational"
    assert update["component_update"]["new_status"] == "major_outage"
    assert update["component_update"]["component_id"] == str(api_component.pk)
    assert update["component"]["name"] == "API" and update["component"]["status"] == "major_outage"
    assert update["page"]["status_indicator"] in {"minor", "major", "critical"}
    # e-mail subscribers read about the incident, not each colour change
    assert not [m for m in smtp.to("reader@example.org") if "] API: " in m["Subject"]]


def test_an_unpublished_incident_moves_no_component_and_sends_no_component_update(
    settings, http_receiver, member, api_component
):
    base, received = http_receiver
    requested = subscriptions.subscribe_webhook(url=base + "/hook")
    subscriptions.confirm(subscriptions.confirm_token(requested.request))
    incident = incident_report(by=member, title="Tills slow in one store")
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="major_outage"
    )
    run_worker()
    api_component.refresh_from_db()
    assert api_component.status == "operational"
    assert not [r for r in received.requests if b"component_update" in r[2]]
