"""Reads shared by the API, the pages and the CLI."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from incidentdesk.accounts.models import Role, User
from incidentdesk.core.compiled import Compiled
from incidentdesk.core.errors import Conflict, NotFound, field_error
from incidentdesk.policy.schema import Policy
from incidentdesk.policy.selectors import policy_of

from .lifecycle import FINISHED, OPEN, Status
from .models import Incident
from .search import incidents_matching

REF = re.compile(r"^INC-([1-9][0-9]{0,17})$", re.IGNORECASE)


def visible_incidents(user: User) -> QuerySet[Incident]:
    """Incidents `user` may see: the team sees all; a stakeholder sees the non-private
    incidents its organisation reported or is affected by, and the ones it reported itself."""
    qs = Incident.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role != Role.STAKEHOLDER:
        return qs
    own = Q(reporter=user)
    if user.organisation_id is None:
        return qs.filter(own)
    affected = Incident.affected_orgs.through.objects.filter(
        incident_id=OuterRef("pk"), stakeholderorg_id=user.organisation_id
    )
    return qs.filter(
        own | (Q(private=False) & (Q(reporter_org_id=user.organisation_id) | Exists(affected)))
    )


def email_shown_to(viewer: User, person: User | None) -> str | None:
    """`person`'s address as `viewer` may read it: the team reads everyone's; a stakeholder
    its own and its organisation's people's, never the team's nor another organisation's."""
    if person is None or not viewer.is_authenticated:
        return None
    if viewer.role != Role.STAKEHOLDER:
        return person.email
    if person.pk == viewer.pk:
        return person.email
    same_org = (
        viewer.organisation_id is not None and person.organisation_id == viewer.organisation_id
    )
    return person.email if same_org and person.role == Role.STAKEHOLDER else None


def parse_ref(ref: str) -> int:
    match = REF.match(ref.strip())
    if not match:
        raise NotFound(f"No incident {ref}.")
    return int(match.group(1))


_RELATED = ("assignee", "reporter", "reporter_org", "policy_version")
# the team sees every incident: its reads, and the locked read every action starts with, are
# built once per process (core/compiled.py)
_FOR_TEAM = Compiled(lambda pk: Incident.objects.select_related(*_RELATED).filter(pk=pk)[:1])
_LOCKED_FOR_TEAM = Compiled(
    lambda pk: (
        Incident.objects.select_related(*_RELATED).select_for_update(of=("self",)).filter(pk=pk)[:1]
    )
)


def incident_get_for(user: User, ref: str, *, for_update: bool = False) -> Incident:
    """The incident `ref` if `user` may see it; NotFound otherwise (refs do not leak)."""
    pk = parse_ref(ref)
    if user.is_authenticated and user.is_active and user.role != Role.STAKEHOLDER:
        incident = (_LOCKED_FOR_TEAM if for_update else _FOR_TEAM).first(pk=pk)
        if incident is None:
            raise NotFound(f"No incident {ref}.")
        return incident
    qs = visible_incidents(user).select_related(*_RELATED)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    incident = qs.filter(pk=pk).first()
    if incident is None:
        raise NotFound(f"No incident {ref}.")
    return incident


@dataclass(frozen=True)
class IncidentFilters:
    status: str | None = None
    type: str | None = None
    severity: str | None = None
    assignee: str | None = None  # an e-mail, "me" or "none"
    mine: bool = False  # led by the reader, or with the reader as communications lead
    open_only: bool = False
    q: str | None = None


def incident_lock(
    by: User, incident: Incident | str, expected_version: int | None = None
) -> Incident:
    """Re-read the incident under a row lock, as `by` may see it; refuse a stale form.

    Every service that changes an incident (here and in other apps) starts with this, inside
    its transaction."""
    ref = incident if isinstance(incident, str) else incident.ref
    fresh = incident_get_for(by, ref, for_update=True)
    if expected_version is not None and fresh.version != expected_version:
        raise Conflict(
            f"{fresh.ref} was changed by someone else since you loaded it; "
            "review its current state and try again."
        )
    return fresh


def incident_list_for(user: User, filters: IncidentFilters) -> QuerySet[Incident]:
    qs = visible_incidents(user)
    if filters.status:
        statuses = [s.strip() for s in filters.status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in Status.__members__.values()]
        if unknown:
            raise field_error("status", f"Unknown status {unknown[0]!r}.")
        qs = qs.filter(status__in=statuses)
    if filters.open_only:
        qs = qs.exclude(status__in=[Status.RESOLVED, Status.CLOSED, Status.REJECTED])
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee__email=filters.assignee.lower())
    if filters.mine:
        qs = qs.filter(Q(assignee=user) | Q(comms_lead=user))
    if filters.q:
        text = filters.q.strip()
        match = REF.match(text)
        qs = qs.filter(pk=int(match.group(1))) if match else qs.filter(incidents_matching(text))
    return qs


def policy_for(incident: Incident) -> Policy:
    return policy_of(incident.policy_version)


def triage_due_at(incident: Incident) -> dt.datetime:
    return incident.reported_at + policy_for(incident).intake.triage


def open_info_requests(incident: Incident) -> Any:
    return incident.info_requests.filter(answered_at__isnull=True)


# finished incidents are counted up to this many per status ("1,000+" past it)
COUNT_CAP = 1_000


def status_counts() -> dict[str, str]:
    """Incidents per status as the queue shows them: exact for the open statuses (read over
    the (status, id) index, so they cost what the open incidents cost), at most COUNT_CAP for
    the finished ones, shown as "1,000+" past it: counting years of closed incidents on every
    queue page would cost what the history costs."""
    open_ = Incident.objects.filter(status__in=OPEN).values_list("status")
    counts: dict[str, int] = dict(open_.annotate(n=Count("id")).values_list("status", "n"))
    for status in FINISHED:
        counts[status] = (
            Incident.objects.filter(status=status).values("id")[: COUNT_CAP + 1].count()
        )
    return {
        s.value: f"{COUNT_CAP:,}+" if counts.get(s, 0) > COUNT_CAP else f"{counts.get(s, 0):,}"
        for s in Status
    } | {"open": f"{sum(counts.get(s, 0) for s in OPEN):,}"}
