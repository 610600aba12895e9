"""The intake's decisions, message by message (the listener itself: test_mailin.py)."""

from __future__ import annotations

from email.message import EmailMessage

from django.test import override_settings

from incidentdesk.incidents import services as core
from incidentdesk.incidents.models import Incident
from incidentdesk.portal.intake import receive
from incidentdesk.portal.models import Attachment

INTAKE = "incidents@localhost"


def mail(sender, subject, body, **headers):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INTAKE
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(msg, envelope_from=None):
    return receive(envelope_from or msg["From"], [INTAKE], msg.as_bytes())


def test_known_stakeholder_opens_an_incident_with_attachment(stakeholder):
    msg = mail("Nora <nora@northwind.test>", "Tills freeze at payment", "Since 9:00 all tills.")
    msg.add_attachment(b"trace", maintype="text", subtype="plain", filename="till.log")
    reply = send(msg)
    incident = Incident.objects.get()
    assert reply == f"250 2.0.0 Reported as {incident.ref}, thank you"
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
    reply = send(mail("nora@northwind.test", f"Re: [{incident.ref}] Question", body))
    assert reply == f"250 2.0.0 Your answer was added to {incident.ref}, thank you"
    assert incident.info_requests.get().answer == "Model T-100."


def test_reply_without_a_question_is_a_comment(stakeholder_same_org, stakeholder):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    reply = send(mail("ned@northwind.test", f"RE: {incident.ref.lower()} tills", "Ours too"))
    assert reply.startswith("250")
    entry = incident.timeline.get(kind="stakeholder_comment")
    assert (entry.actor, entry.data["body"]) == (stakeholder_same_org, "Ours too")


def test_reply_to_another_orgs_incident_is_refused(stakeholder, other_stakeholder):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."))
    incident = Incident.objects.get()
    reply = send(mail("carl@contoso.test", f"Re: {incident.ref}", "me too"))
    assert reply.startswith(f"550 5.1.1 No incident {incident.ref} that you may see")
    assert not incident.timeline.filter(kind="stakeholder_comment").exists()


def test_unknown_sender_is_bounced_politely(member):
    reply = send(mail("someone@example.org", "Help", "broken"))
    assert reply.startswith("550 5.7.1 Sorry, incidents@localhost only accepts")
    # team addresses are not stakeholders either
    assert send(mail("alex@spacewise.test", "Help", "broken")).startswith("550 5.7.1")
    assert not Incident.objects.exists()


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
def test_mail_flood_is_rate_limited(stakeholder):
    send(mail("nora@northwind.test", "one", "x"))
    reply = send(mail("nora@northwind.test", "two", "x"))
    assert reply.startswith("550 5.7.1 You have reported 1 problem in the last hour")
    assert Incident.objects.count() == 1


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
    reply = receive(msg["From"], [f"incidents+{incident.ref}@localhost"], msg.as_bytes())
    assert reply == f"250 2.0.0 Your comment was added to {incident.ref}, thank you"


def test_our_own_outgoing_mail_coming_back_is_ignored(stakeholder):
    msg = mail(
        "nora@northwind.test", "[INC-1] Update", "text", **{"X_IncidentDesk_Delivery": "abc"}
    )
    assert send(msg) == "250 2.0.0 Automatic message ignored"


def test_nul_characters_in_mail_are_dropped_not_the_report(stakeholder):
    msg = mail("nora@northwind.test", "Tills\x00 freeze", "Since 9:00\x00 all tills.")
    assert send(msg).startswith("250 2.0.0 Reported as")
    incident = Incident.objects.get()
    assert (incident.title, incident.description) == ("Tills freeze", "Since 9:00 all tills.")
