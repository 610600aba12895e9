"""Demo history: five months of resolved incidents with reviews and action items, created
through the services with the clock set back, so that the insights pages show real figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from incidentdesk.accounts.models import User
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, Task

from . import services as rs
from .models import Review

MARKER = "Card payments declined at checkout"


@dataclass(frozen=True)
class Past:
    days_ago: int
    title: str
    reporter: str
    type: str
    severity: str
    impact: str
    ack: int  # minutes after the report
    categorize: int
    note: int | None
    update: int | None
    resolve: int
    review: str = ""  # "published", "waived", "draft" or ""
    reopen: bool = False


NW, CO, FA = "ops@northwind.example", "it@contoso.example", "help@fabrikam.example"
HISTORY = [
    Past(
        150,
        "Store tills freeze at opening",
        NW,
        "functionality",
        "P1",
        "all",
        6,
        10,
        12,
        25,
        190,
        "published",
    ),
    Past(
        138,
        "Stock levels wrong after nightly import",
        CO,
        "functionality",
        "P2",
        "some",
        40,
        55,
        60,
        100,
        600,
        "published",
    ),
    Past(124, "Slow product search", FA, "performance", "P3", "few", 90, 120, 130, 300, 1500),
    Past(
        117,
        "Phishing e-mail sent to store managers",
        NW,
        "security",
        "P1",
        "all",
        12,
        15,
        16,
        28,
        210,
        "published",
    ),
    Past(96, MARKER, CO, "functionality", "P1", "all", 9, 14, 15, 26, 230, "published"),
    Past(
        88,
        "Card payments declined at checkout again",
        FA,
        "functionality",
        "P1",
        "all",
        22,
        30,
        35,
        50,
        320,
        "published",
        reopen=True,
    ),
    Past(
        75,
        "Loyalty points missing on receipts",
        CO,
        "functionality",
        "P3",
        "few",
        200,
        230,
        None,
        None,
        2000,
    ),
    Past(
        61,
        "Back-office reports time out",
        FA,
        "performance",
        "P2",
        "some",
        35,
        50,
        55,
        80,
        700,
        "waived",
    ),
    Past(
        47,
        "Planned database upgrade overran",
        NW,
        "maintenance",
        "P2",
        "most",
        20,
        25,
        30,
        45,
        400,
        "published",
    ),
    Past(
        33,
        "Price labels print blank",
        CO,
        "functionality",
        "P2",
        "some",
        55,
        70,
        80,
        115,
        1300,
        "published",
    ),
    Past(
        19,
        "Checkout slow during the sale",
        NW,
        "performance",
        "P1",
        "all",
        8,
        12,
        13,
        24,
        200,
        "published",
    ),
    Past(
        12,
        "Order export misses refunds",
        FA,
        "functionality",
        "P3",
        "few",
        150,
        170,
        180,
        600,
        3000,
    ),
    Past(
        9,
        "Tills lose network in two stores",
        CO,
        "functionality",
        "P2",
        "some",
        25,
        40,
        None,
        None,
        420,
        "draft",
    ),
]

REVIEW = {
    "summary": "{title}: stores could not work normally until the team {fix}.",
    "trigger": "A configuration change reached production without a check that would have "
    "caught it; the monitoring did not cover the affected path.",
    "detection": "A stakeholder reported it before our alerts fired.",
    "response": "The on-call member acknowledged quickly, categorized it and kept stakeholders "
    "informed at the policy's update cadence.",
    "went_well": "- Clear ownership from the first minutes\n- Stakeholder updates on time",
    "went_wrong": "- The alert fired late\n- The runbook step for rollback was out of date",
    "lucky": "It happened outside the busiest trading hours.",
    "lessons": "Changes to this path need an automated check, and the alert must cover it.",
}
FIXES = {"functionality": "rolled back the change", "performance": "scaled out the service",
         "security": "revoked the exposed credentials", "maintenance": "completed the upgrade"}  # fmt: skip
ACTIONS = [
    ("Alert on the failing path before stakeholders notice", "detect"),
    ("Add an automated check for this change to the pipeline", "prevent"),
    ("Update the rollback step in the guideline", "process"),
]


def load_history(people: dict[str, User] | None = None) -> bool:
    """Create the history once; False when it is already there."""
    if Incident.objects.filter(title=MARKER).exists():
        return False
    team = {u.email: u for u in User.objects.filter(email__endswith="@spacewise.example")}
    who = {u.email: u for u in User.objects.filter(role="stakeholder")}
    if people:
        team.update({e: u for e, u in people.items() if u.is_team})
        who.update({e: u for e, u in people.items() if not u.is_team})
    manager = team["manager@spacewise.example"]
    members = [team["alex@spacewise.example"], team["sam@spacewise.example"]]
    now = clock.now().replace(second=0, microsecond=0)
    for i, past in enumerate(HISTORY):
        reported = (now - dt.timedelta(days=past.days_ago)).replace(
            hour=9 + i % 6, minute=(5 * i) % 60
        )
        _one(past, reported, who[past.reporter], members[i % 2], manager, members[(i + 1) % 2])
    return True


def _one(
    past: Past, reported: dt.datetime, reporter: User, member: User, manager: User, other: User
) -> None:
    def later(minutes: int) -> dt.datetime:
        return reported + dt.timedelta(minutes=minutes)

    with clock.frozen(reported) as c:
        incident = s.incident_report(by=reporter, title=past.title, description=past.title + ".")
        ref = incident.ref
        c.set(later(past.ack))
        s.incident_acknowledge(by=member, incident=ref)
        c.set(later(past.categorize))
        s.incident_categorize(
            by=member, incident=ref, type=past.type, severity=past.severity, impact=past.impact,
            reason="Confirmed with the affected stores by phone.",
        )  # fmt: skip
        s.incident_set_status(by=member, incident=ref, status="investigating")
        if past.note is not None:
            c.set(later(past.note))
            s.incident_add_note(by=manager, incident=ref, body=f"{member.first_name} leads.")
        if past.update is not None:
            c.set(later(past.update))
            s.incident_post_update(
                by=member, incident=ref, status="investigating", body="We are investigating."
            )
        steps = list(Task.objects.filter(incident=incident).order_by("position"))
        for n, task in enumerate(steps):
            c.set(
                later(
                    past.categorize + (past.resolve - past.categorize) * (n + 1) // (len(steps) + 1)
                )
            )
            s.incident_task_update(by=member, incident=ref, task_id=task.pk, state="done")
        c.set(later(past.resolve))
        s.incident_resolve(by=member, incident=ref, summary=f"The team {FIXES[past.type]}.")
        if past.reopen:
            c.set(later(past.resolve + 90))
            s.incident_reopen(by=member, incident=ref, reason="It failed again for some cards.")
            c.set(later(past.resolve + 200))
            s.incident_resolve(by=member, incident=ref, summary="Fixed the card range check.")
        c.set(later(past.resolve + 15))
        if past.update is not None:
            s.incident_post_update(by=member, incident=ref, status="resolved", body="Resolved.")
        c.advance(days=1)
        _review(past, incident, member, manager, other, c)


def _review(
    past: Past, incident: Incident, member: User, manager: User, other: User, c: clock.Clock
) -> None:
    ref = incident.ref
    if past.review == "waived":
        rs.review_waive(
            by=manager, incident=ref, reason="Covered by the review of the same outage."
        )
        s.incident_close(by=manager, incident=ref)
        return
    if not past.review:
        if past.severity == "P3":
            s.incident_close(by=manager, incident=ref)
        return
    rs.review_start(by=member, incident=ref)
    review = Review.objects.get(incident__pk=incident.pk)
    text = {k: v.format(title=past.title, fix=FIXES[past.type]) for k, v in REVIEW.items()}
    rs.review_save(by=member, incident=ref, sections={**review.sections, **text})
    if past.review == "draft":
        return
    rs.review_submit(by=member, incident=ref)
    c.advance(hours=3)
    rs.review_comment(by=other, incident=ref, body="Agreed; the alert is the most important fix.")
    today = c.advance(hours=1).date()
    items = [
        rs.action_item_create(
            by=member,
            incident=ref,
            title=title,
            kind=kind,
            owner=(member, other, manager)[n].email,
            due_date=today + dt.timedelta(days=10 + 10 * n),
        )
        for n, (title, kind) in enumerate(ACTIONS)
    ]
    rs.review_publish(by=member, incident=ref)
    s.incident_close(by=manager, incident=ref)
    if past.days_ago > 30:
        for n, item in enumerate(items[:2]):
            c.advance(days=5 + 8 * n + past.days_ago % 7)
            rs.action_item_update(by=item.owner, item_id=item.pk, status="done")
