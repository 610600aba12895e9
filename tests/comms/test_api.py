"""/api/v1 channels, deliveries and preferences: who may call what, and the error contract."""

from __future__ import annotations

import json

import pytest

from incidentdesk.comms.models import Channel, Delivery, Preference
from incidentdesk.core import crypto
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents import services as s


def call(client, token, method, path, body=None):
    kwargs = {}
    if token:
        kwargs["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


HOOK = {
    "name": "Northwind hook",
    "kind": "webhook",
    "url": "https://hooks.northwind.test/incidents",
    "audiences": ["stakeholders"],
}


def test_admin_manages_channels(client, admin, token_for):
    t = token_for(admin)
    r = call(client, t, "post", "/channels", HOOK)
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert created["url_hint"] == "https://hooks.northwind.test/…"
    cid = created["id"]
    listed = call(client, t, "get", "/channels").json()
    assert [c["name"] for c in listed] == ["Northwind hook"]
    assert "secret" not in listed[0]
    r = call(client, t, "patch", f"/channels/{cid}", {"active": False, "audiences": ["team"]})
    assert r.status_code == 200
    assert (r.json()["active"], r.json()["audiences"]) == (False, ["team"])
    assert call(client, t, "get", f"/channels/{cid}").json()["active"] is False
    assert call(client, t, "delete", f"/channels/{cid}").status_code == 204
    assert not Channel.objects.exists()
    kinds = list(AuditEntry.objects.values_list("kind", flat=True))
    assert kinds[-3:] == ["channel_created", "channel_updated", "channel_deleted"]


def test_malformed_channel_is_refused_with_the_reason(client, admin, token_for):
    t = token_for(admin)
    r = call(client, t, "post", "/channels", {**HOOK, "url": "hooks.northwind.test"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "url", "message": "A webhook URL starts with https:// (or http://)."}
    ]
    r = call(
        client,
        t,
        "post",
        "/channels",
        {
            "name": "Chat",
            "kind": "apprise",
            "url": "json://h/",
            "audiences": ["team"],
            "template": "S\n{{ x|nofilter }}",
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "template"
    r = call(client, t, "post", "/channels", {**HOOK, "audiences": ["everyone"]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "audiences"
    assert not Channel.objects.exists()


@pytest.mark.parametrize("who", ["manager", "member", "stakeholder"])
def test_only_admins_touch_channels(client, admin, who, request, token_for):
    from incidentdesk.comms.services import channel_create

    channel, _ = channel_create(by=admin, **HOOK)
    t = token_for(request.getfixturevalue(who))
    assert call(client, t, "get", "/channels").status_code == 403
    assert call(client, t, "post", "/channels", {**HOOK, "name": "x"}).status_code == 403
    assert call(client, t, "get", f"/channels/{channel.pk}").status_code == 403
    assert call(client, t, "patch", f"/channels/{channel.pk}", {"active": False}).status_code == 403
    assert call(client, t, "delete", f"/channels/{channel.pk}").status_code == 403
    assert list(Channel.objects.values_list("name", "active")) == [("Northwind hook", True)]


def test_anonymous_gets_401_everywhere(client, admin):
    for method, path in [
        ("get", "/channels"),
        ("post", "/channels"),
        ("get", "/deliveries"),
        ("post", "/deliveries/1/retry"),
        ("get", "/preferences"),
        ("put", "/preferences"),
        ("get", "/incidents/INC-1/deliveries"),
    ]:
        assert (
            call(client, None, method, path, {} if method != "get" else None).status_code == 401
        ), path


@pytest.fixture
def failed_delivery(manager, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    Delivery.objects.update(state="failed", last_error="550 no such mailbox", attempts=1)
    return incident, Delivery.objects.get()


def test_team_sees_an_incidents_deliveries_and_retries(client, member, failed_delivery, token_for):
    incident, delivery = failed_delivery
    t = token_for(member)
    items = call(client, t, "get", f"/incidents/{incident.ref}/deliveries").json()["items"]
    assert [(d["recipient"], d["state"], d["last_error"]) for d in items] == [
        ("morgan@spacewise.test", "failed", "550 no such mailbox")
    ]
    r = call(client, t, "post", f"/deliveries/{delivery.pk}/retry")
    assert r.status_code == 200
    assert r.json()["state"] == "queued"
    r = call(client, t, "post", f"/deliveries/{delivery.pk}/retry")
    assert r.status_code == 409


def test_stakeholder_sees_no_deliveries_and_cannot_retry(
    client, stakeholder, failed_delivery, token_for
):
    incident, delivery = failed_delivery
    t = token_for(stakeholder)
    assert call(client, t, "get", f"/incidents/{incident.ref}/deliveries").status_code == 403
    assert call(client, t, "post", f"/deliveries/{delivery.pk}/retry").status_code == 403
    assert call(client, t, "get", "/deliveries").status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == "failed"


def test_deliveries_admin_list_filters_failed(client, manager, member, failed_delivery, token_for):
    r = call(client, token_for(manager), "get", "/deliveries?state=failed")
    assert [d["state"] for d in r.json()["items"]] == ["failed"]
    assert call(client, token_for(manager), "get", "/deliveries?state=lost").status_code == 422
    assert call(client, token_for(member), "get", "/deliveries").status_code == 403


def test_preferences_round_trip(client, member, token_for):
    t = token_for(member)
    r = call(client, t, "get", "/preferences")
    assert r.json()["muted"] == []
    assert "resolved" in r.json()["triggers"]
    r = call(
        client,
        t,
        "put",
        "/preferences",
        {"muted": ["resolved:email"], "apprise_url": "json://127.0.0.1:9/x"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["muted"] == ["resolved:email"]
    assert r.json()["apprise_url_hint"] == "json://127.0.0.1:9/…"
    r = call(client, t, "put", "/preferences", {"muted": ["lunch:email", "resolved:fax"]})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["muted.0", "muted.1"]
    assert Preference.objects.get(user=member).muted == ["resolved:email"]


def test_stakeholder_sets_own_preferences(client, stakeholder, token_for):
    r = call(
        client, token_for(stakeholder), "put", "/preferences", {"muted": ["public_update:email"]}
    )
    assert r.status_code == 200
    assert Preference.objects.get(user=stakeholder).muted == ["public_update:email"]


def test_a_channel_whose_url_cannot_be_decrypted_asks_for_it_again(
    client, settings, admin, token_for
):
    """After a restore without the backup's keys: renaming alone is refused, saying why,
    and entering the URL again repairs the channel."""
    t = token_for(admin)
    cid = call(client, t, "post", "/channels", HOOK).json()["id"]
    settings.SECRET_KEY = "a key this machine never had"
    r = call(client, t, "patch", f"/channels/{cid}", {"name": "Northwind"})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "url"
    assert "cannot be decrypted here" in r.json()["errors"][0]["message"]
    assert Channel.objects.get(pk=cid).name == "Northwind hook"
    r = call(
        client, t, "patch", f"/channels/{cid}", {"name": "Northwind", "url": HOOK["url"] + "/v2"}
    )
    assert r.status_code == 200, r.content
    channel = Channel.objects.get(pk=cid)
    assert channel.name == "Northwind"
    assert crypto.decrypt(channel.url_encrypted) == HOOK["url"] + "/v2"
