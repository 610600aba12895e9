"""The intake's decisions, message by message (the listener itself: test_mailin.py)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from django.test import override_settings

from incidentdesk.incidents import services as core
from incidentdesk.incidents.models import Incident
from incidentdesk.portal.intake import ACCEPTED, receive
from incidentdesk.portal.models import Attachment, HeldMail

INTAKE = "incidents@localhost"


@pytest.fixture(autouse=True)
def _dns(mail_dns):
    """Mail comes from 127.0.0.1, which every test domain's SPF record allows."""
    return mail_dns


def mail(sender, subject, body, **headers):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INTAKE
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(msg, envelope_from=None, rcpt=INTAKE):
    envelope_from = envelope_from or parseaddr(msg["From"])[1]
    return receive(envelope_from, [rcpt], msg.as_bytes(), client_ip="127.0.0.1", helo="mx.test")


def test_known_stakeholder_opens_an_incident_with_attachment(stakeholder):
    msg = mail("Nora <nora@northwind.test>", "Tills freeze at payment", "Since 9:00 all tills.")
    msg.add_attachment(b"trace", maintype="text", subtype="plain", filename="till.log")
    assert send(msg) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == (
        "Tills freeze at payment",
        "Since 9:00 all tills.",
    )
    assert incident.reporter == stakeholder
    assert incident.timeline.get(kind="reported").data["source"] == "email"
    assert Attachment.objects.get().filename == "till.log"


def test_reply_answers_the_open_question(stakeholder, member):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    core.incident_request_info(by=member, incident=incident, question="Which till model?")
    body = "Model T-100.\n\nOn Fri, Alex wrote:\n> Which till model?"
    assert send(mail("nora@northwind.test", f"Re: [{incident.ref}] Question", body)) == ACCEPTED
    assert incident.info_requests.get().answer == "Model T-100."


def test_reply_without_a_question_is_a_comment(stakeholder_same_org, stakeholder):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    assert send(mail("ned@northwind.test", f"RE: {incident.ref.lower()} tills", "Ours too")) == (
        ACCEPTED
    )
    entry = incident.timeline.get(kind="stakeholder_comment")
    assert (entry.actor, entry.data["body"]) == (stakeholder_same_org, "Ours too")


def test_reply_to_another_orgs_incident_is_held_not_filed(stakeholder, other_stakeholder):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    assert send(mail("carl@contoso.test", f"Re: {incident.ref}", "me too")) == ACCEPTED
    assert not incident.timeline.filter(kind="stakeholder_comment").exists()
    held = HeldMail.objects.get()
    assert (held.from_address, held.subject) == ("carl@contoso.test", f"Re: {incident.ref}")
    assert incident.ref in held.reason


def test_unknown_sender_is_held_with_the_same_answer(member):
    assert send(mail("someone@example.org", "Help", "broken")) == ACCEPTED
    # team addresses are not stakeholders either
    assert send(mail("alex@spacewise.test", "Help", "broken")) == ACCEPTED
    assert not Incident.objects.exists()
    assert sorted(HeldMail.objects.values_list("from_address", "reason")) == [
        ("alex@spacewise.test", "Not the registered address of a stakeholder"),
        ("someone@example.org", "Not the registered address of a stakeholder"),
    ]


def test_auto_replies_and_bulk_mail_are_ignored(stakeholder):
    for headers in (
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"X_Autoreply": "yes"},
    ):
        reply = send(mail("nora@northwind.test", "Out of office", "Back Monday", **headers))
        assert reply == "250 2.0.0 Automatic message ignored"
    assert send(mail("nora@northwind.test", "x", "y"), envelope_from="<>").endswith("ignored")
    assert not Incident.objects.exists()
    assert not HeldMail.objects.exists()


def test_malformed_mail_is_dropped(stakeholder):
    assert receive("nora@northwind.test", [INTAKE], b"\xff\xfe\x00garbage").startswith("5")
    assert not Incident.objects.exists()


@override_settings(ATTACHMENT_MAX_BYTES=3)
def test_oversized_attachment_is_left_out_and_named(stakeholder):
    msg = mail("nora@northwind.test", "Broken", "see file")
    msg.add_attachment(b"too large", maintype="text", subtype="plain", filename="big.log")
    send(msg)
    incident = Incident.objects.get()
    assert "big.log is 9 bytes; the limit is 3 bytes per file" in incident.description
    assert not Attachment.objects.exists()


@override_settings(PORTAL_REPORTS_PER_HOUR=1)
def test_mail_flood_is_rate_limited_and_held(stakeholder):
    send(mail("nora@northwind.test", "one", "x"))
    assert send(mail("nora@northwind.test", "two", "x")) == ACCEPTED
    assert Incident.objects.count() == 1
    held = HeldMail.objects.get()
    assert held.subject == "two"
    assert held.reason.startswith("You have reported 1 problem in the last hour")


def test_mail_report_queues_a_receipt_to_the_reporter(stakeholder):
    from incidentdesk.comms.models import Delivery

    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    receipt = Delivery.objects.get(key=f"portal-received-{incident.pk}")
    assert (receipt.recipient, receipt.subject) == ("nora@northwind.test", "Received: Tills freeze")
    assert incident.ref in receipt.body_markdown


def test_reply_to_the_tagged_address_threads_without_ref_in_subject(stakeholder):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    msg = mail("nora@northwind.test", "Re: your message", "More detail")
    assert send(msg, rcpt=f"incidents+{incident.ref}@localhost") == ACCEPTED
    entry = incident.timeline.get(kind="stakeholder_comment")
    assert entry.data["body"] == "More detail"


def test_our_own_outgoing_mail_coming_back_is_ignored(stakeholder):
    msg = mail(
        "nora@northwind.test", "[INC-1] Update", "text", **{"X_IncidentDesk_Delivery": "abc"}
    )
    assert send(msg) == "250 2.0.0 Automatic message ignored"


def test_nul_characters_in_mail_are_dropped_not_the_report(stakeholder):
    msg = mail("nora@northwind.test", "Tills\x00 freeze", "Since 9:00\x00 all tills.")
    assert send(msg) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == ("Tills freeze", "Since 9:00 all tills.")


def raw_mail(subject: bytes, content_type: bytes, body: bytes, sender=b"nora@northwind.test"):
    return (
        b"From: "
        + sender
        + b"\r\nTo: incidents@localhost\r\nSubject: "
        + subject
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
        + b"\r\n"
    )


def receive_raw(data):
    return receive("nora@northwind.test", [INTAKE], data, client_ip="127.0.0.1")


def test_unknown_charset_falls_back_instead_of_dropping_the_mail(stakeholder):
    data = raw_mail(
        b"=?x-unknown-charset?q?Caf=E9_tills?= & Bob's",
        b'text/plain; charset="x-unknown-charset"',
        b"Caf\xe9 tills freeze & <b>",
    )
    assert receive_raw(data) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == (
        "Café tills & Bob's",
        "Café tills freeze & <b>",
    )


def test_wrongly_declared_utf8_is_read_as_windows_1252(stakeholder):
    data = raw_mail(b"=?utf-8?q?Caf=E9?= down", b"text/plain; charset=utf-8", b"Caf\xe9 \x93x\x94")
    assert receive_raw(data) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == ("Café down", "Café \u201cx\u201d")


def test_plain_text_is_kept_as_written_and_html_is_reduced_to_text(stakeholder):
    assert send(mail("nora@northwind.test", "Bob's cart & checkout", "a &amp; b <i>")) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == ("Bob's cart & checkout", "a &amp; b <i>")
    data = raw_mail(
        b"=?utf-8?q?Bob=27s_cart_=26_checkout?= again",
        b"text/html; charset=utf-8",
        b"<p>Bob&#x27;s &lt;cart&gt; &amp; <b>checkout</b></p>",
    )
    assert receive_raw(data) == ACCEPTED
    second = Incident.objects.exclude(pk=incident.pk).get()
    assert (second.title, second.description) == (
        "Bob's cart & checkout again",
        "Bob's <cart> & checkout",
    )


def test_mailed_text_shows_as_written_on_the_reporters_page(client, stakeholder):
    assert send(mail("nora@northwind.test", "Bob's cart & checkout", "Tom's <b>till</b> & co"))
    incident = Incident.objects.get()
    client.force_login(stakeholder)
    html = client.get(f"/portal/{incident.ref}/").content.decode()
    assert "Bob&#x27;s cart &amp; checkout" in html
    assert "Tom&#x27;s &lt;b&gt;till&lt;/b&gt; &amp; co" in html
    assert "&amp;amp;" not in html and "&amp;#x27;" not in html
