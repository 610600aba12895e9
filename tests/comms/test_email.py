"""E-mail through a real SMTP server (aiosmtpd in the test process)."""

from __future__ import annotations

import datetime as dt

from django.test import override_settings

from incidentdesk.comms import services
from incidentdesk.comms.models import Delivery
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.statuspage.services import incident_communicate

from .conftest import deliver_due, free_port


def _parts(mail):
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_public_update_mail_has_both_parts_the_ref_and_an_unsubscribe_link(
    smtp, manager, member, stakeholder, stakeholder_same_org
):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all", reason="r"
    )
    s.incident_post_update(
        by=member, incident=incident, status="identified", body="The **broker** is restarted."
    )
    deliver_due()

    update_mails = [m for m in smtp.messages if "Identified" in m["Subject"]]
    assert sorted(m["To"] for m in update_mails) == sorted(
        [stakeholder.email, stakeholder_same_org.email]
    )
    mail = next(m for m in update_mails if m["To"] == stakeholder.email)
    # the P1 went on the status page by the policy: the mail carries its public title
    assert mail["Subject"] == f"[{incident.ref}] Identified: Functionality problem"
    assert mail["Reply-To"] == f"incidents+{incident.ref}@localhost"
    text, html = _parts(mail)
    assert "The **broker** is restarted." in text
    assert "<strong>broker</strong>" in html
    assert incident.ref in text and incident.ref in html
    link = mail["List-Unsubscribe"].strip("<>")
    assert "/comms/unsubscribe/" in link
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    envelope_rcpts = [r for _, rcpts in smtp.envelopes for r in rcpts]
    assert envelope_rcpts.count(stakeholder.email) == len(smtp.to(stakeholder.email))


def test_team_mail_has_no_unsubscribe_link(smtp, manager, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    deliver_due()
    (mail,) = smtp.to(manager.email)
    assert mail["Subject"] == f"[{incident.ref}] New incident: Checkout errors"
    assert mail["List-Unsubscribe"] is None


def test_sent_delivery_is_a_timeline_entry(smtp, manager, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    deliver_due()
    entry = incident.timeline.get(kind="delivered")
    assert entry.data["trigger"] == "reported"
    assert entry.data["audience"] == "manager"
    assert entry.data["channel"] == "email"
    assert entry.data["recipient"] == manager.email
    assert Delivery.objects.get().state == "sent"


def test_refused_recipient_fails_permanently_and_visibly(smtp, manager, stakeholder):
    smtp.refuse.add(manager.email)
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    assert deliver_due() == ["failed"]
    delivery = Delivery.objects.get()
    assert delivery.state == "failed"
    assert "550" in delivery.last_error
    entry = incident.timeline.get(kind="delivery_failed")
    assert entry.data["recipient"] == manager.email
    assert "550" in entry.data["error"]


def test_smtp_server_down_retries_with_exponential_backoff(manager, stakeholder):
    port = free_port()
    down = {"host": "127.0.0.1", "port": port, "security": "", "user": "", "password": ""}
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with override_settings(EMAIL_SMTP=down, EMAIL_URL_IS_DEFAULT=False), clock.frozen(start) as c:
        s.incident_report(by=stakeholder, title="Checkout errors")
        assert deliver_due() == ["retry"]
        delivery = Delivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("queued", 1)
        assert delivery.next_attempt_at == start + dt.timedelta(seconds=30)
        assert "connect" in delivery.last_error
        assert deliver_due() == []
        c.advance(seconds=30)
        assert deliver_due() == ["retry"]
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == start + dt.timedelta(seconds=30 + 60)
        for _ in range(services.MAX_ATTEMPTS - 2):
            c.set(Delivery.objects.get().next_attempt_at)
            deliver_due()
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)


def test_backoff_doubles_up_to_an_hour():
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.backoff(30) == dt.timedelta(hours=1)


def test_unconfigured_default_keeps_mail_in_the_local_sink(tmp_path, manager, stakeholder):
    nowhere = {"host": "127.0.0.1", "port": free_port(), "security": "", "user": "", "password": ""}
    with override_settings(EMAIL_SMTP=nowhere, EMAIL_URL_IS_DEFAULT=True, MAILSINK_DIR=tmp_path):
        incident = s.incident_report(by=stakeholder, title="Checkout errors")
        assert deliver_due() == ["sent"]
    (kept,) = tmp_path.glob("*.eml")
    assert f"[{incident.ref}] New incident" in kept.read_text()
    entry = incident.timeline.get(kind="delivered")
    assert "local mail sink" in entry.data["note"]


def test_template_failing_at_send_time_fails_the_delivery_not_the_action(
    smtp, manager, stakeholder
):
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    Delivery.objects.update(template="no_such_template")
    assert deliver_due() == ["failed"]
    delivery = Delivery.objects.get()
    assert "no message template named 'no_such_template'" in delivery.last_error
    assert incident.timeline.filter(kind="reported").exists()
    assert smtp.messages == []


def test_recipient_without_address_is_reported_not_skipped(smtp, manager, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    services.message_queue(
        channel="email",
        recipient="",
        subject="Hello",
        body_markdown="Body",
        key="no-address",
        incident=incident,
    )
    deliver_due()
    delivery = Delivery.objects.get(key="no-address")
    assert delivery.state == "failed"
    assert "no address" in delivery.last_error
    assert incident.timeline.filter(kind="delivery_failed").count() == 1


def test_direct_message_queue_sends_the_given_text(smtp):
    services.message_queue(
        channel="email",
        recipient="subscriber@example.test",
        subject="Scheduled maintenance",
        body_markdown="Tonight *22:00*.",
        key="maint-1",
    )
    deliver_due()
    (mail,) = smtp.to("subscriber@example.test")
    assert mail["Subject"] == "Scheduled maintenance"
    text, html = _parts(mail)
    assert "Tonight *22:00*." in text
    assert "<em>22:00</em>" in html


def test_a_delivery_is_attempted_once_even_if_asked_twice(smtp, manager, stakeholder):
    s.incident_report(by=stakeholder, title="Checkout errors")
    key = Delivery.objects.get().key
    assert services.delivery_attempt(key) == "sent"
    assert services.delivery_attempt(key) == "nothing to do"
    assert len(smtp.messages) == 1


def test_retry_by_hand_sends_a_failed_delivery(smtp, manager, member, stakeholder):
    smtp.refuse.add(manager.email)
    incident = s.incident_report(by=stakeholder, title="Checkout errors")
    deliver_due()
    smtp.refuse.clear()
    delivery = services.delivery_retry(by=member, delivery_id=Delivery.objects.get().pk)
    assert (delivery.state, delivery.attempts) == ("queued", 0)
    assert incident.timeline.filter(kind="delivery_retried").count() == 1
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert len(smtp.to(manager.email)) == 1


def test_stakeholder_may_not_retry(smtp, manager, stakeholder):
    import pytest

    from incidentdesk.core.errors import PermissionDenied

    smtp.refuse.add(manager.email)
    s.incident_report(by=stakeholder, title="Checkout errors")
    deliver_due()
    with pytest.raises(PermissionDenied):
        services.delivery_retry(by=stakeholder, delivery_id=Delivery.objects.get().pk)
    assert Delivery.objects.get().state == "failed"


def test_a_dropped_smtp_connection_is_reconnected(smtp, manager, stakeholder):
    from incidentdesk.comms.transports import email as transport

    s.incident_report(by=stakeholder, title="First")
    assert deliver_due() == ["sent"]
    # the connection kept between deliveries is gone (a server restart, an idle timeout)
    transport._local.smtp.sock.close()
    s.incident_report(by=stakeholder, title="Second")
    assert deliver_due() == ["sent"]
    assert [m["Subject"].split("] ", 1)[1] for m in smtp.to(manager.email)] == [
        "New incident: First",
        "New incident: Second",
    ]


def test_mail_text_is_never_html_escaped_and_the_html_part_is(
    smtp, manager, member, stakeholder, stakeholder_same_org
):
    incident = s.incident_report(by=stakeholder, title="Bob's cart & checkout")
    s.incident_categorize(
        by=member,
        incident=incident,
        type="functionality",
        severity="P1",
        impact="all",
        reason='Tom\'s "<b>" & co',
    )
    # the update carries the title written for the public, here the same words
    incident_communicate(
        by=member,
        incident=incident.ref,
        status="identified",
        body='Bob\'s "cart" & <script>',
        title="Bob's cart & checkout",
    )
    deliver_due()

    (reported,) = smtp.to(manager.email)[:1]
    assert reported["Subject"] == f"[{incident.ref}] New incident: Bob's cart & checkout"
    categorized = next(m for m in smtp.messages if "Categorized" in m["Subject"])
    assert categorized["Subject"] == f"[{incident.ref}] Categorized P1: Bob's cart & checkout"
    text, html = _parts(categorized)
    assert 'Reason: Tom\'s "<b>" & co' in text
    assert "&amp;" not in text and "&#x27;" not in text
    assert "&lt;b&gt;" in html and "<b>" not in html

    (update,) = [m for m in smtp.to(stakeholder.email) if "Identified" in m["Subject"]]
    assert update["Subject"] == f"[{incident.ref}] Identified: Bob's cart & checkout"
    text, html = _parts(update)
    assert f"**Bob's cart & checkout** ({incident.ref}) — identified" in text
    assert 'Bob\'s "cart" & <script>' in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<title>Identified: Bob&#x27;s cart &amp; checkout</title>" in html


def test_channel_template_text_is_not_html_escaped():
    from incidentdesk.comms import messages

    subject, body = messages.render_text(
        "Re: {{ incident.title }}\n{{ entry.data.body }}",
        {"incident": {"title": "Bob's cart & checkout"}, "entry": {"data": {"body": "a < b"}}},
    )
    assert (subject, body) == ("Re: Bob's cart & checkout", "a < b\n")


def test_a_mail_is_written_byte_for_byte_as_compat32_writes_it():
    """The transport writes plain one-line headers without compat32's folding machinery;
    what goes to the server is the same, long and non-ASCII headers folded as before."""
    from email.generator import BytesGenerator
    from email.policy import compat32
    from io import BytesIO

    from incidentdesk.comms.transports.base import OutgoingMessage
    from incidentdesk.comms.transports.email import build_email

    mail = build_email(
        OutgoingMessage(
            key="k-1",
            address="ops@northwind.test",
            subject="Identified: Tills  cannot\tsync in the Zürich stores",
            body_markdown="We are **restoring** sync.",
            incident_ref="INC-7",
            headers={"X-Long": "word " * 250, "X-Empty": "", "X-Tab": "a\tb"},
            payload=None,
            secret="",
            unsubscribe_url="https://desk.test/comms/unsubscribe/" + "a" * 300,
        )
    )

    def written(policy) -> bytes:  # type: ignore[no-untyped-def]
        out = BytesIO()
        BytesGenerator(out, policy=policy).flatten(mail, linesep="\r\n")
        return out.getvalue()

    expected = written(compat32.clone(max_line_length=998))
    assert written(mail.policy) == expected
    assert b"X-Tab: a\tb\r\n" in expected and b"X-Empty: \r\n" in expected
