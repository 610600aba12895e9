"""The demo: Spacewise's team, three stakeholder organisations and incidents in every state.

Everything is created through the services, with the clock set back, so the demo's timelines
are real, hash-chained and verifiable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.services import user_create
from incidentdesk.comms.demo import load_comms_demo
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, Task
from incidentdesk.incidents.roles import incident_assign
from incidentdesk.portal.demo import load_portal_demo
from incidentdesk.reviews.demo import load_history
from incidentdesk.statuspage.demo import load_statuspage_demo
from incidentdesk.statuspage.services import incident_communicate

PASSWORD = "spacewise-demo"


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    org: str | None = None
    first: str = ""
    last: str = ""


LOGINS = [
    Login("admin@spacewise.example", "admin", first="Ada", last="Admin"),
    Login("manager@spacewise.example", "manager", first="Morgan", last="Reyes"),
    Login("alex@spacewise.example", "member", first="Alex", last="Kim"),
    Login("sam@spacewise.example", "member", first="Sam", last="Okafor"),
    Login("ops@northwind.example", "stakeholder", "Northwind Retail", "Nora", "West"),
    Login("it@contoso.example", "stakeholder", "Contoso Stores", "Carl", "Otto"),
    Login("help@fabrikam.example", "stakeholder", "Fabrikam Outlets", "Fay", "Brik"),
]


def already_loaded() -> bool:
    return User.objects.filter(email=LOGINS[1].email).exists()


def load() -> bool:
    """Load the demo once; return False when it was already there."""
    if already_loaded():
        return False
    with transaction.atomic():
        people = {
            login.email: user_create(
                by=None,
                email=login.email,
                password=PASSWORD,
                role=login.role,
                org_name=login.org,
                first_name=login.first,
                last_name=login.last,
            )
            for login in LOGINS
        }
        _incidents(people)
        load_history(people)
        load_portal_demo()
        load_comms_demo(people)
        load_statuspage_demo(people)
    return True


def _incidents(p: dict[str, User]) -> None:
    manager, alex, sam = (
        p["manager@spacewise.example"],
        p["alex@spacewise.example"],
        p["sam@spacewise.example"],
    )
    northwind, contoso, fabrikam = (
        p["ops@northwind.example"],
        p["it@contoso.example"],
        p["help@fabrikam.example"],
    )
    now = clock.now().replace(second=0, microsecond=0)

    def at(**ago: float) -> dt.datetime:
        return now - dt.timedelta(**ago)

    # closed last week: the whole flow
    with clock.frozen(at(days=6, hours=3)) as c:
        old = s.incident_report(
            by=contoso,
            title="Gift card balance shows zero",
            description="Customers see a zero balance on valid gift cards at the till.",
            started_at=at(days=6, hours=4),
        )
        c.advance(minutes=9)
        s.incident_acknowledge(by=alex, incident=old)
        c.advance(minutes=12)
        s.incident_categorize(
            by=alex, incident=old, type="functionality", severity="P3", impact="few"
        )
        c.advance(minutes=3)
        s.incident_add_note(
            by=alex, incident=old, body="Balance service returns a stale cache entry."
        )
        s.incident_post_update(
            by=alex, incident=old, status="identified", body="We found the cause and are fixing it."
        )
        for task in Task.objects.filter(incident=old):
            c.advance(minutes=20)
            s.incident_task_update(by=alex, incident=old, task_id=task.pk, state="done")
        c.advance(minutes=10)
        s.incident_resolve(
            by=alex, incident=old, summary="Cache invalidation fixed; balances correct."
        )
        c.advance(minutes=5)
        s.incident_post_update(
            by=alex, incident=old, status="resolved", body="Gift card balances are correct again."
        )
        c.advance(hours=20)
        s.incident_close(by=manager, incident=old)

    # resolved yesterday, awaiting closure
    with clock.frozen(at(days=1, hours=5)) as c:
        slow = s.incident_report(
            by=fabrikam,
            title="Sales reports take over a minute to load",
            description="The daily sales report times out for our regional managers.",
        )
        c.advance(minutes=30)
        s.incident_categorize(
            by=sam, incident=slow, type="performance", severity="P3", impact="few"
        )
        s.incident_add_note(by=sam, incident=slow, body="Missing index on the report query.")
        c.advance(minutes=40)
        s.incident_post_update(
            by=sam,
            incident=slow,
            status="investigating",
            body="We are looking into slow sales reports.",
        )
        c.advance(hours=2)
        s.incident_resolve(
            by=sam, incident=slow, summary="Added the missing index; reports load in 2 seconds."
        )

    # a P1 being worked now
    with clock.frozen(at(hours=2)) as c:
        pos = s.incident_report(
            by=northwind,
            title="Point-of-sale sync failing in all stores",
            description="Tills cannot sync sales since 09:00; queues at every store.",
            started_at=at(hours=2, minutes=15),
        )
        c.advance(minutes=6)
        s.incident_acknowledge(by=alex, incident=pos)
        c.advance(minutes=4)
        s.incident_categorize(
            by=alex,
            incident=pos,
            type="functionality",
            severity="P1",
            impact="all",
            reason="Every store is affected; Northwind reported first, Contoso and Fabrikam confirmed by phone.",
        )
        s.incident_set_status(by=alex, incident=pos, status="investigating")
        s.incident_add_note(
            by=manager, incident=pos, body="Alex leads; Sam checks the message broker."
        )
        c.advance(minutes=8)
        incident_communicate(
            by=alex,
            incident=pos.ref,
            status="investigating",
            body="Store tills cannot sync sales. We are investigating.",
            title="Point-of-sale sync failing in all stores",
        )
        first = Task.objects.filter(incident=pos).order_by("position").first()
        if first is not None:
            c.advance(minutes=10)
            s.incident_task_update(by=alex, incident=pos, task_id=first.pk, state="done")

    # a private security incident, triaged
    with clock.frozen(at(minutes=50)) as c:
        sec = s.incident_report(
            by=sam,
            title="Suspicious logins to the admin console",
            description="Repeated logins from an unknown network to two admin accounts.",
        )
        c.advance(minutes=5)
        s.incident_categorize(
            by=sam,
            incident=sec,
            type="security",
            severity="P2",
            impact="few",
            reason="No stakeholder organisation is affected yet.",
        )
        incident_assign(by=manager, incident=sec, assignee=sam.email)

    # waiting for the reporter
    with clock.frozen(at(minutes=35)) as c:
        q = s.incident_report(
            by=contoso,
            title="Receipts print without the store address",
            description="Since this morning receipts are missing the address line.",
        )
        c.advance(minutes=10)
        s.incident_acknowledge(by=sam, incident=q)
        s.incident_request_info(
            by=sam, incident=q, question="Which printer model and which stores?"
        )

    # a duplicate, rejected
    with clock.frozen(at(hours=1, minutes=40)) as c:
        dup = s.incident_report(
            by=contoso,
            title="Tills not syncing",
            description="Our tills stopped syncing this morning.",
        )
        c.advance(minutes=5)
        s.incident_reject(
            by=alex,
            incident=dup,
            reason="Same outage as the point-of-sale sync incident.",
            duplicate_of=pos.ref,
        )

    # just reported, nobody has looked yet
    with clock.frozen(at(minutes=8)):
        s.incident_report(
            by=northwind,
            title="Checkout returns an error for some carts",
            description="Carts with more than 20 items fail at checkout with an error page.",
        )
    assert Incident.objects.count() >= 7
