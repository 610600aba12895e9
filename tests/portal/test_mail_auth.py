"""Whom a received mail is attributed to: only a sender its domain vouches for (DKIM or SPF
aligned with From:, or the trusted relay's Authentication-Results). Signatures are real,
made with real keys the test publishes on a real DNS server."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

import pytest
from django.test import override_settings

from incidentdesk.core.errors import Conflict, PermissionDenied
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents.models import Incident
from incidentdesk.portal import services
from incidentdesk.portal.intake import ACCEPTED, receive
from incidentdesk.portal.models import HeldMail

from .dnsserver import DkimKey

INTAKE = "incidents@localhost"
ELSEWHERE = "192.0.2.25"  # a client no test domain's SPF record allows


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, INTAKE, subject
    msg["Date"] = "Thu, 03 Dec 2026 05:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def send(data: bytes, envelope: str, client_ip: str = "127.0.0.1") -> str:
    return receive(envelope, [INTAKE], data, client_ip=client_ip, helo="mx.test")


@pytest.fixture
def dns(mail_dns):
    return mail_dns


# -- finding: From: was trusted -----------------------------------------------------------------


def test_forged_from_does_not_open_an_incident_as_the_victim(dns, stakeholder):
    forged = mail("Ops <nora@northwind.test>", "Outage: pay now", "Call +1 555 0100")
    assert send(forged, "attacker@evil.example") == ACCEPTED
    assert not Incident.objects.exists()
    held = HeldMail.objects.get()
    assert (held.from_address, held.envelope_from, held.subject) == (
        "nora@northwind.test",
        "attacker@evil.example",
        "Outage: pay now",
    )
    assert held.reason == (
        "Sender not verified: no DKIM signature or SPF pass aligned with northwind.test"
    )
    assert held.state == "held" and held.incident is None


def test_forged_from_from_an_unlisted_server_is_held(dns, stakeholder):
    # the right envelope domain, but from a server northwind.test's SPF does not list
    forged = mail("nora@northwind.test", "Outage", "x")
    assert send(forged, "nora@northwind.test", client_ip=ELSEWHERE) == ACCEPTED
    assert not Incident.objects.exists()
    assert HeldMail.objects.get().reason.startswith("Sender not verified")


def test_forged_reply_does_not_comment_on_another_orgs_private_incident(dns, other_stakeholder):
    assert send(mail("carl@contoso.test", "Badge readers leak", "door logs"), "carl@contoso.test")
    incident = Incident.objects.get()
    forged = mail("carl@contoso.test", f"Re: {incident.ref}", "Send the logs to evil.example")
    assert send(forged, "attacker@evil.example") == ACCEPTED
    assert not incident.timeline.filter(kind="stakeholder_comment").exists()
    assert HeldMail.objects.get().subject == f"Re: {incident.ref}"


@override_settings(PORTAL_REPORTS_PER_HOUR=1)
def test_strangers_cannot_spend_the_victims_quota(dns, stakeholder):
    for n in range(3):
        send(mail("nora@northwind.test", f"Spam {n}", "x"), "attacker@evil.example")
    assert send(mail("nora@northwind.test", "Real problem", "tills"), "nora@northwind.test")
    assert list(Incident.objects.values_list("title", flat=True)) == ["Real problem"]
    assert HeldMail.objects.count() == 3


def test_the_answer_is_the_same_whatever_the_address(dns, stakeholder, member):
    answers = {
        send(mail("nora@northwind.test", "Real", "x"), "nora@northwind.test"),
        send(mail("nora@northwind.test", "Forged", "x"), "attacker@evil.example"),
        send(mail("nobody@example.org", "Stranger", "x"), "nobody@example.org"),
        send(mail("alex@spacewise.test", "Team member", "x"), "alex@spacewise.test"),
        send(mail("nora@northwind.test", "Re: INC-999", "x"), "nora@northwind.test"),
    }
    assert answers == {ACCEPTED}
    assert Incident.objects.count() == 1
    assert HeldMail.objects.count() == 4


# -- DKIM and SPF --------------------------------------------------------------------------------


def test_dkim_signed_mail_is_attributed_even_through_a_forwarder(dns, stakeholder):
    key = DkimKey(dns, "northwind.test")
    signed = key.sign(mail("nora@northwind.test", "Tills freeze", "All tills."))
    # a mailing list re-sent it: the envelope and the connecting server are the list's
    assert send(signed, "list-bounces@lists.example", client_ip=ELSEWHERE) == ACCEPTED
    incident = Incident.objects.get()
    assert (incident.title, incident.reporter) == ("Tills freeze", stakeholder)
    assert not HeldMail.objects.exists()


def test_a_signature_of_a_subdomain_aligns_with_the_organisation(dns, stakeholder):
    key = DkimKey(dns, "mail.northwind.test", selector="s1")
    signed = key.sign(mail("nora@northwind.test", "Tills freeze", "All tills."))
    assert send(signed, "bounce@mail.northwind.test", client_ip=ELSEWHERE) == ACCEPTED
    assert Incident.objects.get().reporter == stakeholder


def test_a_tampered_signed_mail_is_held(dns, stakeholder):
    key = DkimKey(dns, "northwind.test")
    signed = key.sign(mail("nora@northwind.test", "Tills freeze", "All tills."))
    tampered = signed.replace(b"All tills.", b"Wire money.")
    assert send(tampered, "list@lists.example", client_ip=ELSEWHERE) == ACCEPTED
    assert not Incident.objects.exists()
    assert HeldMail.objects.get().body == "Wire money."


def test_a_valid_signature_of_another_domain_does_not_vouch_for_from(dns, stakeholder):
    key = DkimKey(dns, "evil.example")
    signed = key.sign(mail("nora@northwind.test", "Tills freeze", "x"))
    assert send(signed, "attacker@evil.example", client_ip=ELSEWHERE) == ACCEPTED
    assert not Incident.objects.exists()
    assert HeldMail.objects.count() == 1


def test_an_unpublished_key_is_held(dns, stakeholder):
    key = DkimKey(dns, "northwind.test")
    del dns.txt["mail._domainkey.northwind.test"]
    signed = key.sign(mail("nora@northwind.test", "Tills freeze", "x"))
    assert send(signed, "x@lists.example", client_ip=ELSEWHERE) == ACCEPTED
    assert not Incident.objects.exists()


# -- behind a trusted relay --------------------------------------------------------------------

RELAY = "mx.spacewise.test"


@override_settings(MAIL_TRUSTED_AUTHSERV_ID=RELAY)
def test_the_trusted_relays_dmarc_pass_is_believed(dns, stakeholder):
    results = f"{RELAY}; spf=fail smtp.mailfrom=list.example; dmarc=pass header.from=northwind.test"
    data = mail("nora@northwind.test", "Tills freeze", "x", Authentication_Results=results)
    assert send(data, "list@list.example", client_ip=ELSEWHERE) == ACCEPTED
    assert Incident.objects.get().reporter == stakeholder


@override_settings(MAIL_TRUSTED_AUTHSERV_ID=RELAY)
def test_other_servers_authentication_results_are_ignored(dns, stakeholder):
    forged = (
        "mx.evil.example; dkim=pass header.d=northwind.test; dmarc=pass header.from=northwind.test"
    )
    data = mail("nora@northwind.test", "Pay now", "x", Authentication_Results=forged)
    assert send(data, "attacker@evil.example") == ACCEPTED
    assert not Incident.objects.exists()
    assert HeldMail.objects.get().reason.startswith("Sender not verified")


@override_settings(MAIL_TRUSTED_AUTHSERV_ID=RELAY)
def test_behind_a_relay_spf_of_the_relays_address_proves_nothing(dns, stakeholder):
    # 127.0.0.1 is the relay here: that northwind.test's SPF allows it says nothing of the sender
    data = mail("nora@northwind.test", "Tills", "x")
    assert send(data, "nora@northwind.test", client_ip="127.0.0.1") == ACCEPTED
    assert not Incident.objects.exists()


@override_settings(MAIL_TRUSTED_AUTHSERV_ID=RELAY)
def test_the_relays_failing_verdict_is_held_with_its_reason(dns, stakeholder):
    results = f"{RELAY}; dkim=fail header.d=northwind.test; dmarc=fail header.from=northwind.test"
    data = mail("nora@northwind.test", "Tills", "x", Authentication_Results=results)
    assert send(data, "attacker@evil.example") == ACCEPTED
    assert HeldMail.objects.get().reason == (
        f"Sender not verified: {RELAY} found no aligned DKIM, SPF or DMARC pass"
    )


# -- the team decides on held mail --------------------------------------------------------------


def _held(dns, sender="nora@northwind.test", subject="Tills freeze", body="All tills."):
    send(mail(sender, subject, body), "attacker@evil.example", client_ip=ELSEWHERE)
    return HeldMail.objects.latest("id")


def test_member_accepts_held_mail_as_the_senders_report(dns, stakeholder, member):
    held = _held(dns)
    accepted = services.held_mail_accept(by=member, held=held.pk)
    incident = Incident.objects.get()
    assert (incident.title, incident.description, incident.reporter) == (
        "Tills freeze",
        "All tills.",
        stakeholder,
    )
    assert (accepted.state, accepted.decided_by, accepted.incident) == (
        "accepted",
        member,
        incident,
    )
    entry = AuditEntry.objects.get(kind="held_mail_accepted")
    assert (entry.actor, entry.data["incident"]) == (member, incident.ref)


def test_held_reply_accepted_becomes_the_senders_comment(dns, stakeholder, member):
    send(mail("nora@northwind.test", "Tills freeze", "All tills."), "nora@northwind.test")
    incident = Incident.objects.get()
    held = _held(dns, subject=f"Re: {incident.ref}", body="Now the back office too.")
    services.held_mail_accept(by=member, held=held.pk)
    entry = incident.timeline.get(kind="stakeholder_comment")
    assert (entry.actor, entry.data["body"]) == (stakeholder, "Now the back office too.")


def test_member_discards_held_mail_and_nothing_is_filed(dns, stakeholder, member):
    held = _held(dns)
    services.held_mail_discard(by=member, held=held.pk)
    held.refresh_from_db()
    assert (held.state, held.decided_by) == ("discarded", member)
    assert not Incident.objects.exists()
    assert AuditEntry.objects.get(kind="held_mail_discarded").actor == member
    with pytest.raises(Conflict):
        services.held_mail_accept(by=member, held=held.pk)
    assert not Incident.objects.exists()


def test_a_stakeholder_cannot_accept_held_mail(dns, stakeholder, other_stakeholder):
    held = _held(dns)
    with pytest.raises(PermissionDenied):
        services.held_mail_accept(by=other_stakeholder, held=held.pk)
    held.refresh_from_db()
    assert held.state == "held"
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.filter(kind="held_mail_accepted").exists()


def test_mail_of_an_unregistered_address_cannot_be_accepted(dns, member):
    held = _held(dns, sender="someone@example.org")
    with pytest.raises(Conflict, match="not the registered address of an active stakeholder"):
        services.held_mail_accept(by=member, held=held.pk)
    held.refresh_from_db()
    assert held.state == "held"
    assert not Incident.objects.exists()


@override_settings(MAIL_HELD_MAX=2)
def test_held_mail_is_capped_so_a_flood_cannot_fill_the_database(dns, stakeholder):
    answers = {
        send(mail("nora@northwind.test", f"Flood {n}", "x"), "a@evil.example") for n in range(4)
    }
    assert answers == {ACCEPTED}
    assert sorted(HeldMail.objects.values_list("subject", flat=True)) == ["Flood 0", "Flood 1"]


def test_the_team_page_lists_held_mail_as_written(dns, client, stakeholder, member):
    _held(dns, subject="Bob's cart & checkout", body="<script>alert(1)</script> & more")
    client.force_login(member)
    page = client.get("/mail/held")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h2>Bob&#x27;s cart &amp; checkout</h2>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "Sender not verified" in html
    held = HeldMail.objects.get()
    done = client.post(f"/mail/held/{held.pk}/accept", follow=True)
    assert f"Mail from nora@northwind.test filed on {Incident.objects.get().ref}." in (
        done.content.decode()
    )
    assert "No mail is held." in done.content.decode()


def test_stakeholders_do_not_see_held_mail(dns, client, stakeholder):
    held = _held(dns)
    client.force_login(stakeholder)
    assert client.get("/mail/held").status_code == 403
    assert client.post(f"/mail/held/{held.pk}/discard").status_code == 403
    held.refresh_from_db()
    assert held.state == "held"
