"""Reads shared by the review pages, the API, the export and the metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import field_error
from incidentdesk.incidents.calendar import add_business_days, local_date
from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import incident_get_for, parse_ref, policy_for

from .models import ActionItem, ActionKind, ActionStatus, Review, ReviewState

# Entries a review's timeline starts with; the author adds or removes others.
KEY_KINDS = frozenset(
    {
        "reported",
        "acknowledged",
        "categorized",
        "severity_changed",
        "public_update",
        "resolved",
        "reopened",
        "closed",
    }
)


@dataclass(frozen=True)
class Requirement:
    required: bool
    due: dt.date | None
    satisfied: bool
    how: str  # "published", "waived" or ""


def review_requirement(incident: Incident, review: Review | None = None) -> Requirement:
    """Whether the incident's severity requires a review, when it is due, and if it is done."""
    policy = policy_for(incident)
    severity = policy.severities.get(incident.severity) if incident.severity else None
    if review is None:
        review = Review.objects.filter(incident=incident).first()
    how = ""
    if review is not None and review.waived_at is not None:
        how = "waived"
    elif review is not None and review.state == ReviewState.PUBLISHED:
        how = "published"
    if severity is None or not severity.review_required:
        return Requirement(False, None, bool(how), how)
    due = None
    if incident.resolved_at is not None:
        due = add_business_days(local_date(incident.resolved_at), severity.review_due_business_days)
    return Requirement(True, due, bool(how), how)


def review_for(by: User, ref: str) -> tuple[Incident, Review | None]:
    require(by, "review.view")
    incident = incident_get_for(by, ref)
    return incident, Review.objects.filter(incident=incident).select_related("author").first()


def severity_history(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    history = []
    for entry in entries:
        if entry.kind == "categorized":
            previous = (entry.data.get("previous") or {}).get("severity")
            if previous != entry.data.get("severity"):
                history.append(
                    {
                        "at": entry.at,
                        "severity": entry.data.get("severity"),
                        "by": entry.actor_label,
                    }
                )
    return history


@dataclass
class ImpactFacts:
    reported_at: dt.datetime
    started_at: dt.datetime | None
    resolved_at: dt.datetime | None
    duration: dt.timedelta | None
    outage: dt.timedelta | None
    organisations: list[str]
    severity_history: list[dict[str, Any]] = field(default_factory=list)


def impact_facts(incident: Incident, entries: list[TimelineEntry] | None = None) -> ImpactFacts:
    if entries is None:
        entries = list(incident.timeline.order_by("seq"))
    resolved = incident.resolved_at
    return ImpactFacts(
        reported_at=incident.reported_at,
        started_at=incident.started_at,
        resolved_at=resolved,
        duration=resolved - incident.reported_at if resolved else None,
        outage=resolved - incident.started_at if resolved and incident.started_at else None,
        organisations=list(incident.affected_orgs.values_list("name", flat=True)),
        severity_history=severity_history(entries),
    )


def team_names() -> list[str]:
    names: list[str] = []
    for first, last in User.objects.exclude(role="stakeholder").values_list(
        "first_name", "last_name"
    ):
        names += [n for n in (first, last) if n]
        if first and last:
            names.append(f"{first} {last}")
    return names


@dataclass(frozen=True)
class ActionFilters:
    status: str | None = None  # a status, "overdue" or "unfinished"
    kind: str | None = None
    owner: str | None = None  # an e-mail or "me"
    incident: str | None = None


def action_items_for(by: User, filters: ActionFilters) -> QuerySet[ActionItem]:
    require(by, "review.view")
    qs = ActionItem.objects.select_related("incident", "owner")
    today = local_date(clock.now())
    if filters.status == "overdue":
        qs = qs.filter(overdue_q(today))
    elif filters.status == "unfinished":
        qs = qs.filter(status__in=UNFINISHED)
    elif filters.status:
        if filters.status not in ActionStatus.values:
            raise field_error("status", f"Unknown status {filters.status!r}.")
        qs = qs.filter(status=filters.status)
    if filters.kind:
        if filters.kind not in ActionKind.values:
            raise field_error("kind", f"Unknown kind {filters.kind!r}.")
        qs = qs.filter(kind=filters.kind)
    if filters.owner == "me":
        qs = qs.filter(owner=by)
    elif filters.owner:
        qs = qs.filter(owner__email=filters.owner.strip().lower())
    if filters.incident:
        qs = qs.filter(incident_id=parse_ref(filters.incident))
    return qs.order_by("due_date", "id")


UNFINISHED = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


def overdue_q(today: dt.date) -> Q:
    """Action items past their due date and not done: the action items page and the
    manager's day read the same ones."""
    return Q(status__in=UNFINISHED, due_date__lt=today)


def incidents_reported_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(reported_at__gte=start, reported_at__lt=end)
        .exclude(status=Status.REJECTED)
        .select_related("policy_version")
        .order_by("reported_at", "id")
    )


def components_of(incidents: list[Incident]) -> dict[int, set[str]] | None:
    """Status-page components linked to each incident, or None when the product has none."""
    try:
        model = apps.get_model("statuspage", "IncidentComponent")
    except LookupError:
        return None
    links: dict[int, set[str]] = {i.pk: set() for i in incidents}
    field_names = {f.name for f in model._meta.get_fields()}
    if "incident" not in field_names or "component" not in field_names:
        return None
    for incident_id, component_id in model.objects.filter(
        incident__in=[i.pk for i in incidents]
    ).values_list("incident_id", "component_id"):
        links.setdefault(incident_id, set()).add(str(component_id))
    return links


DELIVERY_FIELDS = (
    "created_at", "sent_at", "channel", "recipient", "audience", "trigger", "subject", "state",
    "attempts",
)  # fmt: skip


def deliveries_of(incident: Incident) -> list[dict[str, Any]]:
    """The notifications sent about an incident, when the product records them. Only what
    people may see: recipients as shown, never addresses, secrets or payloads."""
    try:
        model = apps.get_model("comms", "Delivery")
    except LookupError:
        return []
    present = {f.name for f in model._meta.concrete_fields}
    if "incident" not in present:
        return []
    fields = [f for f in DELIVERY_FIELDS if f in present]
    order = "created_at" if "created_at" in present else "pk"
    return [
        {name: _plain(value) for name, value in row.items()}
        for row in model.objects.filter(incident=incident).order_by(order, "pk").values(*fields)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool | type(None) | dict | list):
        return value
    return str(value)
