"""One public voice: every message a stakeholder, a subscriber or an outside channel reads names
the incident by its public title, never by the title the reporter or the team typed, and only
an e-mail carries e-mail-only wording ("reply to this message")."""

from __future__ import annotations

import pytest

from incidentdesk.comms.models import Channel
from incidentdesk.comms.services import channel_create
from incidentdesk.incidents import services as s
from incidentdesk.statuspage import services as statuspage
from incidentdesk.statuspage import subscriptions
from tests.statuspage.conftest import run_worker

from .conftest import deliver_due

INTERNAL = "Checkout page times out for all stores since 10:00"
PUBLIC = "Checkout is slow or timing out"
EMAIL_ONLY = "reply to this message"


def _text(mail) -> str:  # type: ignore[no-untyped-def]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    return f"{mail['Subject']}\n{body}\n{html}"


@pytest.fixture
def incident(member, stakeholder):
    found = s.incident_report(by=stakeholder, title=INTERNAL, description="All stores.")
    s.incident_acknowledge(by=member, incident=found.ref)
    s.incident_categorize(
        by=member, incident=found.ref, type="performance", severity="P2", impact="few", reason="r"
    )
    statuspage.incident_publish(by=member, incident=found.ref, title=PUBLIC)
    statuspage.incident_communicate(
        by=member, incident=found.ref, status="investigating", body="We are looking.", title=PUBLIC
    )
    found.refresh_from_db()
    return found


@pytest.fixture
def reader(db):
    asked = subscriptions.subscribe_email(email="reader@example.org")
    subscriptions.confirm(subscriptions.confirm_token(asked.request))
    return "reader@example.org"


def test_every_mail_a_stakeholder_reads_names_the_public_title(
    smtp, incident, member, stakeholder, stakeholder_same_org
):
    s.incident_request_info(by=member, incident=incident.ref, question="Which stores?")
    s.incident_resolve(by=member, incident=incident.ref, summary="Scaled checkout.")
    s.incident_reopen(by=member, incident=incident.ref, reason="Slow again.")
    deliver_due()
    mails = smtp.to(stakeholder.email) + smtp.to(stakeholder_same_org.email)
    subjects = sorted({m["Subject"].split("] ", 1)[1] for m in mails})
    # the information request, the resolution and the reopening, each under the public title
    for wanted in ("Question about your report", "Resolved", "Reopened"):
        assert f"{wanted}: {PUBLIC}" in subjects, subjects
    for mail in mails:
        assert INTERNAL not in _text(mail), mail["Subject"]
        # acknowledged and categorized before the team wrote a public title: a neutral phrase
        # stood for it
        early = ("looking at your report", "affecting your service")
        named = "the reported problem" if any(e in mail["Subject"] for e in early) else PUBLIC
        assert f"{incident.ref}: {named}" in _text(mail) or named in mail["Subject"]


def test_before_a_public_title_the_stakeholders_read_a_neutral_one(smtp, member, stakeholder):
    quiet = s.incident_report(by=stakeholder, title=INTERNAL)
    s.incident_acknowledge(by=member, incident=quiet.ref)
    s.incident_request_info(by=member, incident=quiet.ref, question="Which stores?")
    deliver_due()
    mails = smtp.to(stakeholder.email)
    assert len(mails) == 2
    for mail in mails:
        assert INTERNAL not in _text(mail)
        assert f"{quiet.ref}: the reported problem" in _text(mail)


def test_outside_channels_get_the_public_title_and_no_email_only_line(
    smtp, http_receiver, admin, incident, member, stakeholder
):
    url, received = http_receiver
    channel_create(
        by=admin,
        name="Customers' chat",
        kind="webhook",
        url=url + "/hook",
        audiences=["stakeholders"],
    )
    assert Channel.objects.count() == 1
    s.incident_resolve(by=member, incident=incident.ref, summary="Scaled checkout.")
    deliver_due()
    [mail] = [m for m in smtp.to(stakeholder.email) if "Resolved" in m["Subject"]]
    assert EMAIL_ONLY in _text(mail)  # a mail may be answered
    bodies = [r[2].decode() for r in received.requests]
    assert bodies and any("Resolved" in b for b in bodies)
    for body in bodies:
        assert PUBLIC in body and INTERNAL not in body and EMAIL_ONLY not in body


def test_subscribers_read_only_the_public_wording(smtp, incident, member, reader):
    run_worker()
    statuspage.incident_communicate(
        by=member, incident=incident.ref, status="identified", body="Found the slow part."
    )
    run_worker()
    s.incident_resolve(by=member, incident=incident.ref, summary="Internal: pod limits raised.")
    run_worker()
    statuspage.incident_communicate(
        by=member, incident=incident.ref, status="resolved", body="Checkouts are fast again."
    )
    run_worker()
    mails = [m for m in smtp.to(reader) if "Confirm your subscription" not in m["Subject"]]
    assert len(mails) >= 3
    for mail in mails:
        text = _text(mail)
        assert PUBLIC in text
        assert INTERNAL not in text and EMAIL_ONLY not in text and "pod limits" not in text
