"""The communication plan: which timeline entries reach whom, on which channel."""

from __future__ import annotations

import pytest

from incidentdesk.accounts.services import user_create
from incidentdesk.comms import services
from incidentdesk.comms.models import Delivery, Unsubscribe
from incidentdesk.incidents import services as s

from ..conftest import PASSWORD


def _keys(**filters):
    return sorted(Delivery.objects.filter(**filters).values_list("recipient", flat=True))


@pytest.fixture
def p1(manager, member, stakeholder, stakeholder_same_org, other_stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P1",
        impact="all",
        reason="all stores",
    )
    return incident


def test_reported_tells_the_manager_at_once(manager, stakeholder):
    s.incident_report(by=stakeholder, title="Checkout errors")
    assert _keys(trigger="reported") == [manager.email]
    delivery = Delivery.objects.get(trigger="reported")
    assert (delivery.audience, delivery.channel, delivery.state) == ("manager", "email", "queued")


def test_categorized_p1_tells_the_affected_organisations_contacts_only(
    p1, stakeholder, stakeholder_same_org, other_stakeholder
):
    assert _keys(trigger="categorized", audience="stakeholders") == sorted(
        [stakeholder.email, stakeholder_same_org.email]
    )
    assert not Delivery.objects.filter(recipient=other_stakeholder.email).exists()


def test_categorized_p3_does_not_tell_stakeholders(manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Typo on receipts")
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P3",
        impact="few",
        reason="one store",
    )
    assert not Delivery.objects.filter(trigger="categorized", audience="stakeholders").exists()
    assert _keys(trigger="categorized", audience="manager") == [manager.email]


def test_public_update_reaches_stakeholders_with_its_text(p1, member, stakeholder):
    s.incident_post_update(by=member, incident=p1, status="identified", body="Broker restarted.")
    delivery = Delivery.objects.get(trigger="public_update", recipient=stakeholder.email)
    assert delivery.template == "public_update"
    assert delivery.context["update"] == {"status": "identified", "body": "Broker restarted."}
    assert delivery.context["external"] is True


def test_internal_note_reaches_nobody(p1, member):
    before = Delivery.objects.count()
    s.incident_add_note(by=member, incident=p1, body="The broker disk is full.")
    assert Delivery.objects.count() == before


def test_stakeholder_context_carries_no_internal_data(manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills down")
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P1",
        impact="all",
        reason="secret internal reasoning",
    )
    external = Delivery.objects.get(trigger="categorized", audience="stakeholders")
    internal = Delivery.objects.get(trigger="categorized", audience="manager")
    assert "secret internal reasoning" not in str(external.context)
    assert "secret internal reasoning" in str(internal.context)
    assert external.context["incident"]["assignee"] == ""


def test_private_incident_never_reaches_stakeholders(
    manager, member, stakeholder, stakeholder_same_org
):
    incident = s.incident_report(by=stakeholder, title="Odd logins")
    s.incident_categorize(
        by=member, incident=incident, type="security", severity="P1", impact="all", reason="r"
    )
    s.incident_post_update(by=member, incident=incident, status="investigating", body="Looking.")
    s.incident_resolve(by=member, incident=incident, summary="Keys rotated.")
    stakeholders = {stakeholder.email, stakeholder_same_org.email}
    later = Delivery.objects.filter(trigger__in=["categorized", "public_update", "resolved"])
    assert later.exists()
    assert not later.filter(recipient__in=stakeholders).exists()
    assert not later.filter(audience="stakeholders").exists()


def test_the_actor_is_not_told_of_their_own_action(manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Slow reports")
    s.incident_categorize(
        by=manager,
        incident=incident,
        type="performance",
        severity="P3",
        impact="few",
        reason="one store",
    )
    assert not Delivery.objects.filter(trigger="categorized", recipient=manager.email).exists()


def test_resolved_tells_team_and_stakeholders(p1, manager, member, member2, stakeholder):
    s.incident_resolve(by=member, incident=p1, summary="Broker fixed.")
    assert _keys(trigger="resolved", audience__in=["manager", "team"]) == sorted(
        [manager.email, member2.email]
    )
    assert stakeholder.email in _keys(trigger="resolved", audience="stakeholders")


def test_delivery_entries_cause_no_deliveries(smtp, p1):
    from .conftest import deliver_due

    deliver_due()
    count = Delivery.objects.count()
    assert p1.timeline.filter(kind="delivered").count() == count
    deliver_due()
    assert Delivery.objects.count() == count


def test_muted_kind_and_channel_is_not_sent(manager, member, stakeholder):
    services.preference_set(by=manager, muted=["reported:email"])
    s.incident_report(by=stakeholder, title="Checkout errors")
    assert not Delivery.objects.filter(trigger="reported").exists()


def test_personal_apprise_url_is_used_and_shown_redacted(manager, stakeholder):
    services.preference_set(by=manager, muted=[], apprise_url="json://127.0.0.1:9/hook?token=abc")
    s.incident_report(by=stakeholder, title="Checkout errors")
    delivery = Delivery.objects.get(trigger="reported", channel="apprise")
    assert delivery.recipient == "json://127.0.0.1:9/…"
    assert "token=abc" not in delivery.address_encrypted


def test_unsubscribed_stakeholder_is_not_sent_stakeholder_mail(
    p1, member, stakeholder, stakeholder_same_org
):
    Unsubscribe.objects.create(email=stakeholder.email, at=p1.reported_at)
    s.incident_post_update(by=member, incident=p1, status="identified", body="Found it.")
    assert _keys(trigger="public_update") == [stakeholder_same_org.email]


def test_channels_receive_for_their_audiences(manager, member, stakeholder, admin):
    services.channel_create(
        by=admin,
        name="Team chat",
        kind="apprise",
        url="json://127.0.0.1:9/",
        audiences=["team", "manager"],
    )
    services.channel_create(
        by=admin,
        name="Northwind hook",
        kind="webhook",
        url="http://127.0.0.1:9/h",
        audiences=["stakeholders"],
    )
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    assert Delivery.objects.filter(
        trigger="reported", channel="apprise", channel_config__name="Team chat"
    ).exists()
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all", reason="r"
    )
    hook = Delivery.objects.get(trigger="categorized", channel="webhook")
    assert hook.channel_config.name == "Northwind hook"
    assert hook.audience == "stakeholders"


def test_message_queue_is_idempotent_on_key(stakeholder):
    first = services.message_queue(
        channel="email", recipient="a@example.test", subject="Hi", body_markdown="Body", key="k-1"
    )
    again = services.message_queue(
        channel="email", recipient="b@example.test", subject="Other", body_markdown="x", key="k-1"
    )
    assert again.pk == first.pk
    assert Delivery.objects.filter(key="k-1").count() == 1
    assert again.recipient == "a@example.test"


def test_message_queue_refuses_unknown_channel():
    from incidentdesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.message_queue(
            channel="fax", recipient="1", subject="s", body_markdown="b", key="k"
        )
    assert not Delivery.objects.exists()


def test_inactive_users_are_not_told(manager, stakeholder):
    user_create(by=None, email="old@spacewise.test", password=PASSWORD, role="manager")
    from incidentdesk.accounts.models import User

    User.objects.filter(email="old@spacewise.test").update(is_active=False)
    s.incident_report(by=stakeholder, title="Checkout errors")
    assert _keys(trigger="reported") == [manager.email]


def test_an_undecryptable_personal_url_fails_only_its_own_delivery(
    transactional_db, client, settings, manager, member, stakeholder, token_for, smtp
):
    """A personal Apprise URL stored under another key (a restore without it) must not stop
    anyone reporting or categorizing: its delivery fails, saying why, and the mail goes."""
    from .conftest import run_worker

    services.preference_set(by=manager, muted=[], apprise_url="json://127.0.0.1:9/hook?token=abc")
    settings.SECRET_KEY = "a key this machine never had"

    def post(user, path, body):
        return client.post(
            f"/api/v1{path}",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token_for(user)}",
        )

    r = post(stakeholder, "/incidents", {"title": "Checkout errors"})
    assert r.status_code == 201, r.content
    ref = r.json()["ref"]
    r = post(
        member,
        f"/incidents/{ref}/categorize",
        {"type": "functionality", "severity": "P1", "impact": "all", "reason": "all stores"},
    )
    assert r.status_code == 200, r.content
    run_worker()
    apprise = Delivery.objects.filter(channel="apprise", user=manager)
    assert sorted(apprise.values_list("trigger", "state")) == [
        ("categorized", "failed"),
        ("reported", "failed"),
    ]
    assert all("cannot decrypt" in d.last_error for d in apprise)
    assert {d.recipient for d in apprise} == {"json://127.0.0.1:9/…"}
    mails = Delivery.objects.filter(channel="email", user=manager)
    assert sorted(mails.values_list("trigger", "state")) == [
        ("categorized", "sent"),
        ("reported", "sent"),
    ]
    assert len(smtp.to(manager.email)) == 2
