"""What needs the team today: the reads behind each role's home page.

Every list starts from an index over what is still open or due (the incidents' status, the
action items' status and due date), never from the whole history, so the page costs the same
after ten years of incidents as after one week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from incidentdesk.accounts.models import User
from incidentdesk.core import clock
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident, InfoRequest
from incidentdesk.incidents.selectors import policy_for, triage_due_at
from incidentdesk.incidents.steps import LATE, PENDING, policy_steps, step_facts
from incidentdesk.policy.selectors import active_policy
from incidentdesk.reviews.models import ActionItem, Review, ReviewState
from incidentdesk.reviews.selectors import add_business_days, local_date, overdue_q

# how many rows each list shows; the queue has the rest
LIMIT = 20
# what the lists read of each open incident: its clocks, not its text
OPEN_FIELDS = (
    "title",
    "status",
    "severity",
    "type",
    "reported_at",
    "acknowledged_at",
    "triaged_at",
    "ack_due_at",
    "update_due_at",
    "resolve_due_at",
    "assignee__email",
    "assignee__first_name",
    "assignee__last_name",
    "policy_version__content_hash",
)


@dataclass
class AtRisk:
    """An open incident and its nearest SLA target not met yet."""

    incident: Incident
    target: str
    due_at: dt.datetime

    @property
    def breached(self) -> bool:
        return self.due_at <= clock.now()


@dataclass
class LateStep:
    incident: Incident
    step: str
    due_at: dt.datetime


@dataclass
class ReviewDue:
    incident: Incident
    due: dt.date
    late: bool


@dataclass
class ManagerDay:
    at_risk: list[AtRisk] = field(default_factory=list)
    late_steps: list[LateStep] = field(default_factory=list)
    reviews_due: list[ReviewDue] = field(default_factory=list)
    overdue_actions: list[ActionItem] = field(default_factory=list)
    waiting_on_stakeholders: list[Incident] = field(default_factory=list)


def _open_incidents() -> QuerySet[Incident]:
    # a list of statuses, read through the (status, id) index: only open incidents are read
    # the policy version's text stays in the database: its hash names the parsed policy
    return (
        Incident.objects.filter(status__in=sorted(lifecycle.OPEN))
        .select_related("assignee", "policy_version")
        .only(*OPEN_FIELDS)
    )


def _targets(incident: Incident) -> list[tuple[str, dt.datetime]]:
    """The SLA targets not met yet, in the words of the policy's steps."""
    targets = []
    if incident.acknowledged_at is None and incident.ack_due_at is not None:
        targets.append(("Acknowledge", incident.ack_due_at))
    if incident.triaged_at is None:
        targets.append(("Categorize", triage_due_at(incident)))
    if incident.update_due_at is not None:
        targets.append(("Next update", incident.update_due_at))
    if incident.resolve_due_at is not None:
        targets.append(("Resolve", incident.resolve_due_at))
    return targets


def manager_day(*, today: dt.date | None = None) -> ManagerDay:
    """The manager's morning: open incidents closest to an SLA breach first, steps late
    against the policy, reviews due, action items overdue, incidents waiting on stakeholders."""
    now = clock.now()
    today = today or local_date(now)
    day = ManagerDay()
    open_incidents = list(_open_incidents())
    for incident in open_incidents:
        targets = sorted(_targets(incident), key=lambda t: t[1])
        if targets:
            day.at_risk.append(AtRisk(incident, *targets[0]))
        day.late_steps.extend(LateStep(incident, name, due) for name, due in targets if due <= now)
    day.at_risk.sort(key=lambda r: (r.due_at, r.incident.pk))
    day.at_risk = day.at_risk[:LIMIT]
    day.late_steps.sort(key=lambda s: (s.due_at, s.incident.pk))
    day.late_steps = day.late_steps[:LIMIT]
    day.reviews_due = _reviews_due(today)
    day.overdue_actions = list(
        ActionItem.objects.filter(overdue_q(today))
        .select_related("owner", "incident")
        .order_by("due_date", "id")[:LIMIT]
    )
    unanswered = InfoRequest.objects.filter(incident_id=OuterRef("pk"), answered_at__isnull=True)
    day.waiting_on_stakeholders = list(
        _open_incidents().filter(Exists(unanswered)).order_by("-id")[:LIMIT]
    )
    return day


def _reviews_due(today: dt.date) -> list[ReviewDue]:
    """Resolved incidents whose severity asks for a review not yet published or waived, the
    longest resolved first. Such an incident stays resolved (it cannot be closed); the
    (status, resolved_at) index hands them over in that order, so only the first few are
    read however many resolved incidents there are."""
    _, policy = active_policy()
    severities = [key for key, s in policy.severities.items() if s.review_required]
    done = Review.objects.filter(incident_id=OuterRef("pk")).filter(
        Q(state=ReviewState.PUBLISHED) | Q(waived_at__isnull=False)
    )
    resolved = (
        Incident.objects.filter(status=Status.RESOLVED, severity__in=severities)
        .exclude(Exists(done))
        .select_related("policy_version", "assignee")
        .defer("policy_version__text")
        .order_by("resolved_at", "id")[:LIMIT]
    )
    due = []
    for incident in resolved:
        severity = policy_for(incident).severities.get(incident.severity)
        if severity is None or not severity.review_required or incident.resolved_at is None:
            continue
        when = add_business_days(
            local_date(incident.resolved_at), severity.review_due_business_days
        )
        due.append(ReviewDue(incident, when, when < today))
    due.sort(key=lambda r: (r.due, r.incident.pk))
    return due


@dataclass
class MyIncident:
    incident: Incident
    step_key: str  # the next policy step (incidents.steps.STEP_NAMES), "" when all are done
    step_number: int
    due_at: dt.datetime | None
    late: bool


def member_day(user: User) -> list[MyIncident]:
    """The member's open incidents (those assigned to them), each with the policy step that
    comes next, the one closest to its target first."""
    mine = list(_open_incidents().filter(assignee=user).order_by("-id")[:LIMIT])
    facts = step_facts(mine)
    rows = []
    for incident in mine:
        steps = policy_steps(incident, facts[incident.pk])
        step = next((s for s in steps if s.state in (PENDING, LATE) and s.done_at is None), None)
        if step is None:
            rows.append(MyIncident(incident, "", 0, None, False))
            continue
        rows.append(MyIncident(incident, step.key, step.number, step.due_at, step.state == LATE))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows.sort(key=lambda r: (r.due_at or far, r.incident.pk))
    return rows
