"""Demo data for the portal: reporters follow their incidents, one report made through
the portal with its details, a file and a comment, and one forged mail held for the team.
Safe to run again."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from incidentdesk.accounts.models import Role, User
from incidentdesk.core import clock
from incidentdesk.incidents.models import Incident
from incidentdesk.statuspage.models import Component

from . import services
from .files import Upload
from .models import HeldMail

DEMO_TITLE = "Order confirmation e-mails arrive an hour late"
DEMO_LOG = (
    b"09:02:11 order 100234 placed\n09:02:12 confirmation queued\n"
    b"10:04:57 confirmation sent (delay 62 min)\n"
)


def _hold_a_forged_mail() -> None:
    if HeldMail.objects.exists():
        return
    msg = EmailMessage()
    msg["From"] = "Northwind Ops <ops@northwind.example>"
    msg["To"] = "incidents@localhost"
    msg["Subject"] = "Urgent: payment provider's new bank details"
    body = "Please update our bank details today: the provider's account has changed."
    msg.set_content(body)
    services.held_mail_keep(
        envelope_from="billing@pay-northwind.example",
        from_address="ops@northwind.example",
        subject=str(msg["Subject"]),
        body=body,
        reason="Sender not verified: no DKIM signature or SPF pass aligned with northwind.example",
        rcpt_tos=["incidents@localhost"],
        raw=msg.as_bytes(),
    )


def load_portal_demo() -> None:
    _hold_a_forged_mail()
    reporters = Incident.objects.filter(reporter__role=Role.STAKEHOLDER).select_related("reporter")
    for incident in reporters:
        if incident.reporter is not None:
            services.portal_follow(by=incident.reporter, incident=incident.ref)
    nora = User.objects.filter(email="ops@northwind.example").first()
    if nora is None or Incident.objects.filter(title=DEMO_TITLE).exists():
        return
    now = clock.now().replace(second=0, microsecond=0)
    component = Component.objects.filter(name__icontains="mail").first()
    with clock.frozen(now - dt.timedelta(minutes=25)) as c:
        incident = services.portal_report(
            by=nora,
            title=DEMO_TITLE,
            description="Customers get their order confirmation about an hour after paying.",
            started_at=now - dt.timedelta(hours=3),
            problem_type="performance",
            component_id=component.pk if component else None,
            users_affected=300,
            steps="1. Place an order in the web shop\n2. Wait for the confirmation e-mail",
            uploads=[Upload("mail-queue.log", DEMO_LOG)],
        )
        c.advance(minutes=10)
        services.portal_comment(
            by=nora, incident=incident.ref, body="Same for orders placed in the app."
        )
