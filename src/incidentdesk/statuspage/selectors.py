"""What the public may see, read once per page version and shared by the page, the v2 API,
the feeds, the badge and the export. Nothing here reaches an unpublished or private incident:
every public read goes through `public_publications()`."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from incidentdesk.core import clock
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.models import PublicUpdate
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.policy.selectors import active_policy

from .models import (
    STATUS_RANK,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    Publication,
    worst,
)

UPTIME_DAYS = 90
# Statuspage's weighting: a partial outage counts 30% against uptime, a major one fully
PARTIAL_WEIGHT = 0.3
IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
INDICATOR_TEXT = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
COMPONENT_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}


P = ParamSpec("P")
R = TypeVar("R")
_reading: ContextVar[dict[Any, Any] | None] = ContextVar("statuspage_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within this block the selectors marked `shared` read the database once: rendering every
    public output in a row (the prepared front, the export) asks for the same components and
    incidents many times. The results are read-only for their callers."""
    token = _reading.set({})
    try:
        yield
    finally:
        _reading.reset(token)


def shared(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        memo = _reading.get()
        if memo is None:
            return fn(*args, **kwargs)
        key = (fn.__name__, args, tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = fn(*args, **kwargs)
        return memo[key]  # type: ignore[no-any-return]

    return wrapper


_STATE_SQL = "SELECT version, token, changed_at FROM statuspage_pagestate WHERE id = 1"


def page_state() -> tuple[str, dt.datetime]:
    """(version, changed_at) of everything the page shows. Read on every public request, so
    by one plain SELECT: the ORM's query building would cost more than the rest of a cached
    response."""
    _, version, changed = page_epoch()
    return version, changed


@shared
def page_epoch() -> tuple[int, str, dt.datetime]:
    """(epoch, version, changed_at): the epoch is the count of changes, which only grows, so
    of two readings the one with the higher epoch is the newer. Within `one_reading` it is
    read once, so every output of a preparation names the same state."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        row = cursor.fetchone()
    if row is None:
        return 0, "0", dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    changed = row[2]
    if isinstance(changed, str):
        changed = dt.datetime.fromisoformat(changed)
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=dt.UTC)
    return int(row[0]), f"{row[0]}{row[1]}", changed


@shared
def page_name() -> str:
    name = getattr(settings, "STATUSPAGE_NAME", "")
    if name:
        return str(name)
    return active_policy()[1].organisation.name


def base_url() -> str:
    return str(getattr(settings, "STATUSPAGE_URL", "") or settings.BASE_URL + "/status/")


# -- incidents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    id: str
    status: str
    body: str
    created_at: dt.datetime
    components: list[tuple[Component, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PublicIncident:
    id: str
    name: str
    status: str
    impact: str
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime
    monitoring_at: dt.datetime | None
    resolved_at: dt.datetime | None
    posts: list[Post]
    components: list[tuple[Component, str]]

    @property
    def unresolved(self) -> bool:
        return self.status not in ("resolved", "postmortem")

    @property
    def permalink(self) -> str:
        return f"/status/incidents/{self.id}/"


def public_publications() -> QuerySet[Publication]:
    """Publications the public may see: not withdrawn; a private incident only through a
    summary (the per-type check is repeated in `_as_public`, which the policy decides)."""
    return (
        Publication.objects.filter(withdrawn_at__isnull=True)
        .exclude(summary_only=False, incident__private=True)
        .select_related("incident", "incident__policy_version")
    )


def _with_posts(qs: QuerySet[Publication]) -> QuerySet[Publication]:
    return qs.prefetch_related(
        Prefetch("incident__public_updates", queryset=PublicUpdate.objects.order_by("posted_at")),
        Prefetch(
            "incident__status_components",
            queryset=IncidentComponent.objects.select_related("component"),
        ),
    )


def _is_confidential(incident: Any) -> bool:
    if incident.private:
        return True
    kind = policy_for(incident).types.get(incident.type) if incident.type else None
    return bool(kind and kind.private)


def _impact(incident: Any) -> str:
    severity = policy_for(incident).severities.get(incident.severity or "")
    return severity.statuspage_impact if severity else "none"


def _as_public(p: Publication) -> PublicIncident | None:
    incident = p.incident
    if p.summary_only:
        status = p.summary_status or "investigating"
        done = status in ("resolved", "postmortem")
        post = Post(f"{p.pk}-summary", status, p.public_body, p.published_at)
        return PublicIncident(
            id=str(p.pk),
            name=p.public_title,
            status=status,
            impact="none",
            created_at=p.published_at,
            updated_at=p.published_at,
            started_at=p.published_at,
            monitoring_at=p.published_at if status == "monitoring" else None,
            resolved_at=p.published_at if done else None,
            posts=[post],
            components=[],
        )
    if _is_confidential(incident):
        return None
    prefetched = incident.status_components.all()  # type: ignore[attr-defined]
    links = [(link.component, link.status) for link in prefetched]
    posts: list[Post] = []
    if p.public_body:
        posts.append(Post(f"{p.pk}-0", "investigating", p.public_body, p.published_at, links))
    for update in incident.public_updates.all():
        posts.append(Post(str(update.pk), update.status, update.body, update.posted_at, links))
    finished = incident.status in lifecycle.FINISHED
    if finished and not any(post.status == "resolved" for post in posts):
        at = incident.resolved_at or incident.rejected_at or incident.updated_at
        posts.append(Post(f"{p.pk}-resolved", "resolved", "This incident has been resolved.", at))
    if p.postmortem_at is not None and p.postmortem_body:
        posts.append(Post(f"{p.pk}-postmortem", "postmortem", p.postmortem_body, p.postmortem_at))
    status = posts[-1].status if posts else "investigating"
    if finished:
        status = "resolved"
    if p.postmortem_at is not None:
        status = "postmortem"
    monitoring = [post.created_at for post in posts if post.status == "monitoring"]
    resolved = [post.created_at for post in posts if post.status == "resolved"]
    newest = max([p.published_at, *(post.created_at for post in posts)])
    if p.postmortem_at:
        newest = max(newest, p.postmortem_at)
    return PublicIncident(
        id=str(p.pk),
        name=p.public_title,
        status=status,
        impact=_impact(incident),
        created_at=p.published_at,
        updated_at=newest,
        started_at=incident.started_at or incident.reported_at,
        monitoring_at=monitoring[0] if monitoring else None,
        resolved_at=resolved[-1] if resolved and status in ("resolved", "postmortem") else None,
        posts=list(reversed(posts)),
        components=links,
    )


def public_incidents(qs: QuerySet[Publication] | None = None) -> list[PublicIncident]:
    rows = _with_posts(qs if qs is not None else public_publications())
    return [pi for pi in (_as_public(p) for p in rows) if pi is not None]


@shared
def recent_incidents(limit: int = 50) -> list[PublicIncident]:
    """The newest published incidents (Statuspage's incidents.json returns the last 50)."""
    return public_incidents(public_publications().order_by("-published_at", "-pk")[:limit])


@shared
def unresolved_incidents() -> list[PublicIncident]:
    open_statuses = [s.value for s in lifecycle.OPEN]
    qs = public_publications().filter(postmortem_at__isnull=True)
    candidates = qs.filter(incident__status__in=open_statuses) | qs.filter(summary_only=True)
    return [i for i in public_incidents(candidates.order_by("-published_at")) if i.unresolved]


def incident_by_public_id(public_id: str) -> PublicIncident | None:
    if not public_id.isdigit():
        return None
    found = public_incidents(public_publications().filter(pk=int(public_id)))
    return found[0] if found else None


@shared
def incidents_between(start: dt.datetime, end: dt.datetime) -> list[PublicIncident]:
    qs = public_publications().filter(published_at__gte=start, published_at__lt=end)
    return public_incidents(qs.order_by("-published_at", "-pk"))


@shared
def first_publication_at() -> dt.datetime | None:
    return (
        public_publications()
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )


# -- maintenance -----------------------------------------------------------------------------


def maintenances(qs: QuerySet[Maintenance] | None = None) -> list[Maintenance]:
    base = qs if qs is not None else Maintenance.objects.order_by("-scheduled_for")[:50]
    return list(base.prefetch_related("components", "updates"))


@shared
def upcoming_maintenances() -> list[Maintenance]:
    return maintenances(
        Maintenance.objects.filter(status=MaintenanceStatus.SCHEDULED).order_by("scheduled_for")
    )


@shared
def active_maintenances() -> list[Maintenance]:
    return maintenances(
        Maintenance.objects.filter(
            status__in=[MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]
        ).order_by("scheduled_for")
    )


# -- components and their uptime -------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    date: dt.date
    status: str
    partial_minutes: int
    major_minutes: int
    degraded_minutes: int
    maintenance_minutes: int
    known: bool

    @property
    def outage_minutes(self) -> int:
        return self.partial_minutes + self.major_minutes


@dataclass(frozen=True)
class ComponentView:
    component: Component
    days: list[Day]
    uptime: float | None

    @property
    def worst_day(self) -> str:
        return max((d.status for d in self.days), key=lambda s: STATUS_RANK[ComponentStatus(s)])


@shared
def components() -> list[Component]:
    return list(Component.objects.select_related("group").order_by("position", "name"))


@shared
def groups() -> list[ComponentGroup]:
    return list(ComponentGroup.objects.order_by("position", "name"))


def uptime_views(items: list[Component], *, days: int = UPTIME_DAYS) -> dict[int, ComponentView]:
    """Per component: for each of the last `days` days, the worst status and the minutes in
    each non-operational status; and the weighted uptime percentage over the window."""
    now = clock.now()
    today = dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC)
    start = today - dt.timedelta(days=days - 1)
    by_component: dict[int, list[tuple[dt.datetime, str]]] = {c.pk: [] for c in items}
    for change in ComponentStatusChange.objects.filter(component__in=items, at__gte=start).order_by(
        "at", "id"
    ):
        by_component[change.component_id].append((change.at, change.status))
    # each component's status when the window opens: its last change before it, one query
    last_before = (
        ComponentStatusChange.objects.filter(component=OuterRef("pk"), at__lt=start)
        .order_by("-at", "-id")
        .values("status")[:1]
    )
    before = dict(
        Component.objects.filter(pk__in=list(by_component))
        .annotate(before=Subquery(last_before))
        .values_list("pk", "before")
    )
    return {
        component.pk: _uptime(
            component, before.get(component.pk), by_component[component.pk], start, now, days
        )
        for component in items
    }


def _uptime(
    component: Component,
    before: str | None,
    changes: list[tuple[dt.datetime, str]],
    start: dt.datetime,
    now: dt.datetime,
    days: int,
) -> ComponentView:
    segments: list[tuple[dt.datetime, dt.datetime, str]] = []
    status, since = before, start
    for at, new_status in changes:
        if status is not None and at > since:
            segments.append((since, at, status))
        status, since = new_status, max(at, since)
    if status is not None and now > since:
        segments.append((since, now, status))
    result: list[Day] = []
    weighted = counted = 0.0
    for n in range(days):
        day_start = start + dt.timedelta(days=n)
        day_end = min(day_start + dt.timedelta(days=1), now)
        minutes: dict[str, float] = {}
        for seg_start, seg_end, seg_status in segments:
            overlap = (min(seg_end, day_end) - max(seg_start, day_start)).total_seconds()
            if overlap > 0:
                minutes[seg_status] = minutes.get(seg_status, 0) + overlap / 60
        total = sum(minutes.values())
        counted += total
        weighted += minutes.get(ComponentStatus.MAJOR_OUTAGE, 0) + PARTIAL_WEIGHT * minutes.get(
            ComponentStatus.PARTIAL_OUTAGE, 0
        )
        worst_status = max(
            minutes, key=lambda s: STATUS_RANK[ComponentStatus(s)], default="operational"
        )
        result.append(
            Day(
                date=day_start.date(),
                status=worst_status,
                partial_minutes=_minutes(minutes, ComponentStatus.PARTIAL_OUTAGE),
                major_minutes=_minutes(minutes, ComponentStatus.MAJOR_OUTAGE),
                degraded_minutes=_minutes(minutes, ComponentStatus.DEGRADED_PERFORMANCE),
                maintenance_minutes=_minutes(minutes, ComponentStatus.UNDER_MAINTENANCE),
                known=total > 0,
            )
        )
    uptime = round(100 * (1 - weighted / counted), 2) if counted else None
    return ComponentView(component, result, uptime)


def _minutes(minutes: dict[str, float], status: str) -> int:
    """Whole minutes, rounded up: a short outage still shows as one."""
    return math.ceil(minutes.get(status, 0))


# -- the overall status ----------------------------------------------------------------------


def overall_indicator(items: list[Component], unresolved: list[PublicIncident]) -> str:
    """Statuspage's indicator: the worse of the open incidents' impact and the components'."""
    ranks = [IMPACT_RANK[i.impact] for i in unresolved]
    for component in items:
        indicator = COMPONENT_INDICATOR[ComponentStatus(component.status)]
        if indicator in IMPACT_RANK:
            ranks.append(IMPACT_RANK[indicator])
    best = max(ranks, default=0)
    return next(k for k, v in IMPACT_RANK.items() if v == best)


def overall_description(indicator: str, items: list[Component]) -> str:
    if indicator == "none" and any(c.status == ComponentStatus.UNDER_MAINTENANCE for c in items):
        return "Service Under Maintenance"
    return INDICATOR_TEXT[indicator]


def worst_status(statuses: list[str]) -> str:
    return worst(statuses)
