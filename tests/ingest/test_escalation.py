"""Escalation: a frozen clock pages the person on call across a handoff, an override and a
summer-time change, escalates through two levels to the manager, and each step is on the
incident's timeline and in a real SMTP server's inbox; the acknowledge link works once."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from incidentdesk.comms.models import Delivery
from incidentdesk.core import clock
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.incidents.timeline_text import describe
from incidentdesk.ingest import services
from incidentdesk.ingest.models import AckLink, Escalation
from incidentdesk.ingest.services import escalation

from ..comms.conftest import deliver_due, http_receiver, smtp  # noqa: F401

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def primary(manager, member, member2):
    """Berlin, daily handoff at 09:00 local from Friday 27 March 2026: Alex, then Sam. Summer
    time starts on Sunday 29 March, so 09:00 is 08:00 UTC before and 07:00 after."""
    schedule = services.schedule_create(by=manager, name="Primary", time_zone="Europe/Berlin")
    services.schedule_add_layer(
        by=manager,
        schedule=schedule,
        name="Rotation",
        rotation="daily",
        handoff_time=dt.time(9, 0),
        starts_on=dt.date(2026, 3, 27),
        members=[member.email, member2.email],
    )
    return schedule


@pytest.fixture
def prometheus(manager):
    _, integration = services.integration_create(by=manager, name="Prometheus")
    return integration


def trigger(integration, key: str, severity: str = "critical") -> Incident:
    outcome = services.alert_receive(
        integration=integration,
        event=services.AlertEvent(
            action="trigger", dedup_key=key, summary=f"{key} is down", severity=severity
        ),
    )
    assert outcome.alert is not None
    return Incident.objects.get(pk=outcome.alert.incident_id)


def steps(incident: Incident) -> list[str]:
    policy = policy_for(incident)
    entries = TimelineEntry.objects.filter(incident=incident, kind__in=["paged", "paging_waits"])
    return [describe(e, policy) for e in entries.order_by("seq")]


def test_escalation_walks_the_schedule_and_reaches_the_manager(
    smtp,  # noqa: F811
    primary,
    prometheus,
    manager,
    member,
    member2,
):
    with clock.frozen(at("2026-03-27T07:59")) as frozen:
        # Friday, before the first 09:00 Berlin handoff (08:00 UTC): the rotation has not
        # started, so level 1 finds nobody and the manager is paged five minutes later
        early = trigger(prometheus, "disk-db-1")
        assert escalation.escalation_check() == 1
        assert steps(early) == ["Nobody to page at level 1: nobody is on call in Primary"]
        # the handoff: Alex from 08:00 UTC
        frozen.set(at("2026-03-27T08:00"))
        first = trigger(prometheus, "api-latency")
        assert escalation.escalation_check() == 1
        assert steps(first) == [f"Paged {member.email} (level 1)"]
        frozen.advance(minutes=4)
        assert escalation.escalation_check() == 1  # the first incident's level 2 only
        assert steps(first) == [f"Paged {member.email} (level 1)"]
        frozen.advance(minutes=1)
        assert escalation.escalation_check() == 1
        assert steps(first) == [
            f"Paged {member.email} (level 1)",
            "Escalated to the manager (level 2): no acknowledgement in 5 minutes",
        ]
        deliver_due()
        pages = [m for m in smtp.messages if "Page:" in str(m["Subject"])]
        assert sorted(m["To"] for m in pages) == sorted(
            [manager.email, member.email, manager.email]
        )
        alex = smtp.to(member.email)
        assert any(first.ref in str(m["Subject"]) for m in alex)
        delivered = TimelineEntry.objects.filter(incident=first, kind="delivered")
        assert {e.data["recipient"] for e in delivered} == {member.email, manager.email}

        # an override on Saturday: the manager takes the afternoon
        services.override_create(
            by=manager,
            schedule=primary,
            user=manager,
            starts_at=at("2026-03-28T12:00"),
            ends_at=at("2026-03-28T18:00"),
        )
        frozen.set(at("2026-03-28T12:30"))
        saturday = trigger(prometheus, "checkout-5xx")
        escalation.escalation_check()
        assert steps(saturday) == [f"Paged {manager.email} (level 1)"]

        # Monday after summer time began: 09:00 Berlin is 07:00 UTC; Alex (Sunday) hands to
        # Sam (Monday) at 07:00 UTC, not 08:00
        frozen.set(at("2026-03-30T06:59"))
        sunday_shift = trigger(prometheus, "queue-depth")
        escalation.escalation_check()
        frozen.set(at("2026-03-30T07:00"))
        monday_shift = trigger(prometheus, "search-errors")
        escalation.escalation_check()
        assert steps(sunday_shift) == [f"Paged {member.email} (level 1)"]
        assert steps(monday_shift) == [f"Paged {member2.email} (level 1)"]


def test_acknowledging_stops_the_escalation(primary, prometheus, member):
    with clock.frozen(at("2026-03-27T10:00")) as frozen:
        incident = trigger(prometheus, "disk-db-1")
        escalation.escalation_check()
        incidents.incident_acknowledge(by=member, incident=incident)
        frozen.advance(minutes=30)
        escalation.escalation_check()
        assert steps(incident) == [f"Paged {member.email} (level 1)"]
        assert Escalation.objects.get(incident=incident).due_at is None


def test_an_acknowledged_incident_that_breaches_a_clock_pages_again(
    smtp,  # noqa: F811
    primary,
    prometheus,
    member,
):
    with clock.frozen(at("2026-03-27T10:00")) as frozen:
        incident = trigger(prometheus, "disk-db-1")
        escalation.escalation_check()
        incidents.incident_acknowledge(by=member, incident=incident)
        # P2 (the assumed severity until categorized; the alert said critical, P1, but only a
        # person categorizes): the triage target is an hour
        frozen.advance(hours=1, minutes=1)
        incidents.incident_sla_check()
        escalation.escalation_check()
        assert steps(incident)[-1] == f"Paged {member.email} again: the triage target was breached"
        deliver_due()
        assert len([m for m in smtp.to(member.email) if "Page:" in str(m["Subject"])]) == 2


def test_a_p3_alert_waits_for_working_hours(primary, prometheus, member, member2):
    # Saturday: the default policy pages P3 (an alert's "warning") only on working days
    with clock.frozen(at("2026-03-28T10:00")) as frozen:
        incident = trigger(prometheus, "cert-expiry", severity="warning")
        escalation.escalation_check()
        assert steps(incident) == [
            "Paging waits for working hours (Working hours): until 2026-03-30 09:00 UTC"
        ]
        assert not Delivery.objects.filter(audience="page").exists()
        frozen.set(at("2026-03-30T09:00"))
        escalation.escalation_check()
        assert steps(incident)[-1] == f"Paged {member2.email} (level 1)"


def test_a_report_from_the_portal_does_not_page(stakeholder, primary):
    with clock.frozen(at("2026-03-27T10:00")):
        incident = incidents.incident_report(by=stakeholder, title="Tills cannot sync")
        assert not Escalation.objects.filter(incident=incident).exists()


def ack_link_of(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    (link,) = re.findall(r"\((https?://[^)]+/oncall/ack/[^)]+)\)", text)
    return link


def test_the_acknowledge_link_works_once_without_a_login(
    client,
    smtp,  # noqa: F811
    primary,
    prometheus,
    member,
    settings,
):
    with clock.frozen(at("2026-03-27T10:00")) as frozen:
        incident = trigger(prometheus, "disk-db-1")
        escalation.escalation_check()
        deliver_due()
        (page,) = smtp.to(member.email)
        path = ack_link_of(page).removeprefix(settings.BASE_URL)
        frozen.advance(minutes=2)
        # no secret at rest: the stored page carries the link's id, not the link
        stored = Delivery.objects.get(audience="page", recipient=member.email)
        assert "/oncall/ack/" not in stored.body_markdown

        # a GET (a mail scanner) asks, and changes nothing
        asked = client.get(path)
        assert asked.status_code == 200
        assert f"Acknowledge <strong>{incident.ref}</strong>" in asked.content.decode()
        assert Incident.objects.get(pk=incident.pk).acknowledged_at is None

        done = client.post(path)
        assert done.status_code == 200
        assert f"{incident.ref} is acknowledged by {member.email}" in done.content.decode()
        fresh = Incident.objects.get(pk=incident.pk)
        assert fresh.acknowledged_at is not None
        (ack,) = TimelineEntry.objects.filter(incident=incident, kind="acknowledged")
        assert ack.actor_id == member.pk
        head = fresh.timeline_seq

        again = client.post(path)
        assert again.status_code == 409
        assert "This link was used already" in again.content.decode()
        assert Incident.objects.get(pk=incident.pk).timeline_seq == head

        forged = client.post(path[:-3] + "abc")
        assert forged.status_code == 404
        assert "not valid" in forged.content.decode()


def test_an_expired_acknowledge_link_writes_nothing(
    client,
    smtp,  # noqa: F811
    primary,
    prometheus,
    member,
    settings,
):
    with clock.frozen(at("2026-03-27T10:00")) as frozen:
        incident = trigger(prometheus, "disk-db-1")
        escalation.escalation_check()
        deliver_due()
        path = ack_link_of(smtp.to(member.email)[0]).removeprefix(settings.BASE_URL)
        head = Incident.objects.get(pk=incident.pk).timeline_seq
        frozen.advance(hours=25)
        expired = client.post(path)
        assert expired.status_code == 409
        assert "This link has expired" in expired.content.decode()
        assert Incident.objects.get(pk=incident.pk).timeline_seq == head
        assert AckLink.objects.get().used_at is None


def test_a_page_reaches_an_apprise_url_on_a_real_receiver(
    http_receiver,  # noqa: F811
    smtp,  # noqa: F811
    primary,
    prometheus,
    member,
):
    from incidentdesk.comms.services import preference_set

    url, received = http_receiver
    apprise_url = url.replace("http://", "json://") + "/pager?token=s3cret"
    preference_set(by=member, muted=[], apprise_url=apprise_url)
    with clock.frozen(at("2026-03-27T10:00")):
        incident = trigger(prometheus, "disk-db-1")
        escalation.escalation_check()
        deliver_due()
    (path, _, _) = received.requests[-1]
    assert path.startswith("/pager")
    body = received.json()
    assert incident.ref in body["title"]
    assert "/oncall/ack/" in body["message"]
    stored = Delivery.objects.get(audience="page", channel="apprise")
    assert stored.state == "sent"
    assert "s3cret" not in stored.address_encrypted and "s3cret" not in stored.recipient


def test_send_a_test_page_from_the_preferences_page(client, smtp, member, stakeholder):  # noqa: F811
    client.force_login(member)
    page = client.get("/comms/preferences/").content.decode()
    assert "Send a test page" in page
    sent = client.post("/comms/preferences/test-page", follow=True)
    assert "A test page is on its way to your e-mail." in sent.content.decode()
    deliver_due()
    (mail,) = smtp.to(member.email)
    assert mail["Subject"] == "Test page"
    assert AuditEntry.objects.filter(kind="page_test").count() == 1

    # a stakeholder is never paged: no button, and the address refuses
    client.force_login(stakeholder)
    assert "Send a test page" not in client.get("/comms/preferences/").content.decode()
    assert client.post("/comms/preferences/test-page").status_code == 403
    assert client.get("/comms/preferences/test-page").status_code in (403, 405)
    deliver_due()
    assert not smtp.to(stakeholder.email)
    assert AuditEntry.objects.filter(kind="page_test").count() == 1


def test_the_on_call_page_shows_who_each_level_would_page_now(client, primary, manager, member):
    client.force_login(member)
    with clock.frozen(at("2026-03-27T10:00")):
        page = client.get("/oncall/").content.decode()
    assert "<h3>Page now</h3>" in page
    assert "At once: the person on call in Primary\n    — now alex@spacewise.test" in page
    assert (
        "After 5 minutes without acknowledgement: the manager\n    — now morgan@spacewise.test"
        in page
    )
    assert "Then from level 1 again, 1 time, 15 minutes later." in page
    assert "pages only mon, tue, wed, thu, fri 09:00–17:00 (UTC)" in page
