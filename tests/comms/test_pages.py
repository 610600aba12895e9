"""The pages: an incident's communications, the deliveries admin page, channels,
preferences and the unsubscribe link; and who may open each."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from incidentdesk.comms import services
from incidentdesk.comms.models import Channel, Delivery, Preference, Unsubscribe
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import PublicUpdate


def client_for(user=None):
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def incident(manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all", reason="r"
    )
    return incident


def test_member_sees_the_deliveries_with_state_recipient_and_error(member, incident):
    Delivery.objects.filter(trigger="reported").update(
        state="failed", attempts=8, last_error="550 no such mailbox"
    )
    r = client_for(member).get(f"/incidents/{incident.ref}/communications")
    assert r.status_code == 200
    page = text(r)
    assert f"Communications of {incident.ref}" in page
    assert "morgan@spacewise.test" in page
    assert "550 no such mailbox" in page
    assert "Failed: 1" in page
    assert 'aria-label="Retry delivery to morgan@spacewise.test"' in r.content.decode()


def test_retry_button_queues_the_delivery_again(member, incident):
    Delivery.objects.filter(trigger="reported").update(state="failed", last_error="550")
    delivery = Delivery.objects.get(trigger="reported")
    r = client_for(member).post(
        f"/comms/deliveries/{delivery.pk}/retry",
        {"next": f"/incidents/{incident.ref}/communications"},
    )
    assert r.status_code == 302
    assert r["Location"] == f"/incidents/{incident.ref}/communications"
    delivery.refresh_from_db()
    assert delivery.state == "queued"
    assert incident.timeline.filter(kind="delivery_retried").exists()


def _unpublished(member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P3",
        impact="few",
        reason="one shop",
    )
    return incident


def test_template_fills_placeholders_and_preview_shows_the_message(member, stakeholder):
    incident = _unpublished(member, stakeholder)
    c = client_for(member)
    r = c.get(f"/incidents/{incident.ref}/update?template=identified")
    assert "We have identified the cause and are working on a fix. Next update by" in text(r)
    r = c.post(
        f"/incidents/{incident.ref}/update",
        {"status": "identified", "body": "Cause of {title} **found**.", "action": "preview"},
    )
    assert r.status_code == 200
    assert "<strong>found</strong>" in r.content.decode()
    # {title} is what the public may read: never the internal title
    assert "Cause of the reported problem" in text(r)
    assert "Cause of Tills cannot sync" not in text(r)


def test_title_placeholder_is_the_public_title_once_published(member, stakeholder):
    from incidentdesk.comms.updates import TEMPLATES_BY_KEY, fill
    from incidentdesk.statuspage.services import incident_publish

    incident = _unpublished(member, stakeholder)
    incident_publish(by=member, incident=incident.ref, title="Store tills are delayed")
    incident.refresh_from_db()
    assert fill("Cause of {title} found.", incident) == "Cause of Store tills are delayed found."
    for wording in TEMPLATES_BY_KEY.values():
        filled = fill(wording.text, incident)
        assert "Tills cannot sync" not in filled
        assert "reply to this message" not in filled
    assert not PublicUpdate.objects.exists()


def test_sending_posts_the_update_and_queues_stakeholder_mail(member, stakeholder, incident):
    r = client_for(member).post(
        f"/incidents/{incident.ref}/update",
        {"status": "identified", "body": "We found it: {ref}.", "action": "send"},
    )
    assert r.status_code == 302
    (update,) = PublicUpdate.objects.all()
    assert update.body == f"We found it: {incident.ref}."
    assert Delivery.objects.filter(trigger="public_update", recipient=stakeholder.email).exists()


def test_bad_update_is_shown_with_the_reason(member, incident):
    r = client_for(member).post(
        f"/incidents/{incident.ref}/update",
        {"status": "resolved", "body": "Done.", "action": "send"},
    )
    assert r.status_code == 200
    assert "Resolve the incident before announcing its resolution." in text(r)
    assert not PublicUpdate.objects.exists()


def test_script_in_an_update_is_escaped_in_the_preview(member, incident):
    r = client_for(member).post(
        f"/incidents/{incident.ref}/update",
        {"status": "identified", "body": "<script>alert(1)</script>", "action": "preview"},
    )
    assert "<script>alert(1)</script>" not in r.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/INC-1/communications",
        "/comms/deliveries/",
        "/comms/channels/",
        "/comms/preferences/",
    ],
)
def test_anonymous_is_sent_to_log_in(path, incident):
    r = client_for().get(path)
    assert r.status_code == 302
    assert r["Location"].startswith("/login/")


def test_stakeholder_may_not_open_team_pages(stakeholder, incident):
    c = client_for(stakeholder)
    assert c.get(f"/incidents/{incident.ref}/communications").status_code == 403
    assert c.get("/comms/deliveries/").status_code == 403
    assert c.get("/comms/channels/").status_code == 403
    delivery = Delivery.objects.first()
    Delivery.objects.update(state="failed")
    assert c.post(f"/comms/deliveries/{delivery.pk}/retry").status_code == 403
    r = c.post(
        f"/incidents/{incident.ref}/update",
        {"status": "identified", "body": "x", "action": "send"},
    )
    assert r.status_code == 403
    assert not PublicUpdate.objects.exists()
    assert not Delivery.objects.exclude(state="failed").exists()


@pytest.mark.parametrize("who", ["member", "manager", "stakeholder"])
def test_only_admins_change_channels_on_the_page(who, request, admin):
    channel, _ = services.channel_create(
        by=admin, name="Chat", kind="apprise", url="json://127.0.0.1:9/", audiences=["team"]
    )
    c = client_for(request.getfixturevalue(who))
    assert c.get("/comms/channels/").status_code == 403
    assert c.post("/comms/channels/", {"name": "x", "kind": "apprise"}).status_code == 403
    assert c.post(f"/comms/channels/{channel.pk}/disable").status_code == 403
    assert c.post(f"/comms/channels/{channel.pk}/delete").status_code == 403
    assert list(Channel.objects.values_list("name", "active")) == [("Chat", True)]


def test_member_may_not_open_the_deliveries_admin_page(member, incident):
    assert client_for(member).get("/comms/deliveries/").status_code == 403


def test_unknown_incident_is_404(member, incident):
    assert client_for(member).get("/incidents/INC-999/communications").status_code == 404


def test_deliveries_page_filters_failed(manager, incident):
    Delivery.objects.filter(trigger="reported").update(state="failed", last_error="refused")
    r = client_for(manager).get("/comms/deliveries/?state=failed")
    assert r.status_code == 200
    rows = re.findall(r'<tr class="delivery-(\w+)"', r.content.decode())
    assert rows == ["failed"]
    r = client_for(manager).get("/comms/deliveries/")
    assert set(re.findall(r'<tr class="delivery-(\w+)"', r.content.decode())) == {
        "failed",
        "queued",
    }


def test_admin_creates_a_channel_and_sees_the_secret_once(admin):
    c = client_for(admin)
    r = c.post(
        "/comms/channels/",
        {
            "name": "Northwind hook",
            "kind": "webhook",
            "url": "https://hooks.northwind.test/x",
            "audiences": ["stakeholders"],
        },
    )
    assert r.status_code == 200
    assert "whsec_" in r.content.decode()
    assert "whsec_" not in c.get("/comms/channels/").content.decode()
    channel = Channel.objects.get()
    r = c.post(f"/comms/channels/{channel.pk}/disable")
    assert r.status_code == 302
    channel.refresh_from_db()
    assert channel.active is False
    c.post(f"/comms/channels/{channel.pk}/delete")
    assert not Channel.objects.exists()


def test_malformed_channel_form_shows_the_reason(admin):
    r = client_for(admin).post(
        "/comms/channels/",
        {"name": "Chat", "kind": "apprise", "url": "nonsense", "audiences": ["team"]},
    )
    assert r.status_code == 200
    assert "an Apprise URL looks like scheme://" in text(r)
    assert not Channel.objects.exists()


def test_preferences_page_saves_unticked_boxes_as_muted(member):
    c = client_for(member)
    r = c.get("/comms/preferences/")
    assert r.status_code == 200
    assert 'value="resolved:email" checked' in r.content.decode()
    from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS

    on = [f"{t}:{ch}" for t in NOTIFICATION_TRIGGERS for ch in ("email", "apprise")]
    on.remove("resolved:email")
    r = c.post("/comms/preferences/", {"on": on, "apprise_url": ""})
    assert r.status_code == 302
    assert Preference.objects.get(user=member).muted == ["resolved:email"]
    assert 'value="resolved:email" checked' not in c.get("/comms/preferences/").content.decode()


def test_unsubscribe_link_works_without_login(stakeholder):
    token = services.unsubscribe_token(stakeholder.email)
    c = client_for()
    r = c.get(f"/comms/unsubscribe/{token}")
    assert r.status_code == 200
    assert stakeholder.email in text(r)
    assert not Unsubscribe.objects.exists()
    r = c.post(f"/comms/unsubscribe/{token}")
    assert r.status_code == 200
    assert "will no longer receive" in text(r)
    assert Unsubscribe.objects.filter(email=stakeholder.email).exists()


def test_one_click_unsubscribe_needs_no_csrf_token(stakeholder):
    token = services.unsubscribe_token(stakeholder.email)
    c = Client(enforce_csrf_checks=True)
    r = c.post(f"/comms/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    assert Unsubscribe.objects.filter(email=stakeholder.email).exists()


def test_forged_unsubscribe_link_is_refused(stakeholder):
    token = services.unsubscribe_token(stakeholder.email)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    r = client_for().post(f"/comms/unsubscribe/{forged}")
    assert r.status_code == 404
    assert not Unsubscribe.objects.exists()


def test_preferences_page_sets_keeps_and_removes_the_apprise_url(member):
    from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS

    on = [f"{t}:email" for t in NOTIFICATION_TRIGGERS]
    c = client_for(member)
    r = c.post("/comms/preferences/", {"on": on, "apprise_url": "nonsense"})
    assert "an Apprise URL looks like scheme://" in text(r)
    c.post("/comms/preferences/", {"on": on, "apprise_url": "ntfy://ntfy.sh/spacewise-alex"})
    assert "ntfy://ntfy.sh/…" in text(c.get("/comms/preferences/"))
    c.post("/comms/preferences/", {"on": on, "apprise_url": ""})
    assert Preference.objects.get(user=member).apprise_url_hint == "ntfy://ntfy.sh/…"
    c.post("/comms/preferences/", {"on": on, "apprise_url": "", "apprise_remove": "1"})
    assert Preference.objects.get(user=member).apprise_url_hint == ""


def test_admin_edits_a_channel_and_a_bad_template_is_refused(admin, member):
    channel, _ = services.channel_create(
        by=admin, name="Chat", kind="apprise", url="json://127.0.0.1:9/a", audiences=["team"]
    )
    c = client_for(admin)
    assert "Channel Chat" in text(c.get(f"/comms/channels/{channel.pk}/"))
    r = c.post(
        f"/comms/channels/{channel.pk}/",
        {"name": "Team chat", "audiences": ["team", "manager"], "template": "S\n{% endif %}"},
    )
    assert r.status_code == 200
    assert "template syntax error" in text(r)
    r = c.post(
        f"/comms/channels/{channel.pk}/",
        {"name": "Team chat", "audiences": ["team", "manager"], "url": "json://127.0.0.1:9/b"},
    )
    assert r.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.audiences) == ("Team chat", ["team", "manager"])
    from incidentdesk.core import crypto

    assert crypto.decrypt(channel.url_encrypted) == "json://127.0.0.1:9/b"
    assert client_for(member).get(f"/comms/channels/{channel.pk}/").status_code == 403
    assert (
        client_for(member).post(f"/comms/channels/{channel.pk}/", {"name": "x"}).status_code == 403
    )
    assert Channel.objects.get().name == "Team chat"
