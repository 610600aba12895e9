"""The figures behind the insights pages, the API and the exports: read the incidents of a
date range and the few entries of their timelines the figures need (`steps.step_facts`: the
people's actions and the first delivery of each sort, never every delivery), turn them into
records, and compute."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import FieldError, InvalidInput
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.incidents.steps import step_facts
from incidentdesk.policy.selectors import active_policy

from . import conformance, metrics
from .models import ActionItem
from .selectors import components_of, incidents_reported_between, local_date

DEFAULT_DAYS = 180
MAX_DAYS = 3 * 366
# the default range (no dates chosen) shows at most the newest this many incidents of it, so
# the page costs the same after years of history; chosen dates show every incident
DEFAULT_LATEST = 250


def parse_range(start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """Inclusive dates; defaults to the last 180 days. Refuses bad dates and reversed ranges."""
    today = local_date(clock.now())
    errors: list[FieldError] = []
    parsed: dict[str, dt.date | None] = {}
    for name, text in (("from", start), ("to", end)):
        parsed[name] = None
        if text:
            try:
                parsed[name] = dt.date.fromisoformat(text.strip())
            except ValueError:
                errors.append(FieldError(name, f"{text!r} is not a date (YYYY-MM-DD)."))
    if errors:
        raise InvalidInput("The date range is not valid.", errors)
    last = parsed["to"] or today
    first = parsed["from"] or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput(
            "The date range is not valid.",
            [FieldError("from", "The start of the range is after its end.")],
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "The date range is not valid.",
            [FieldError("from", f"A range covers at most {MAX_DAYS} days.")],
        )
    return first, last


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def record_of(
    incident: Incident, entries: list[TimelineEntry], components: frozenset[str] | None
) -> metrics.IncidentRecord:
    """The timestamps of an incident, from its timeline only: `entries` are its entries of
    `steps.STEP_KINDS` in order (the people's actions, never its deliveries)."""
    first: dict[str, dt.datetime] = {}
    resolved: dt.datetime | None = None
    ever_resolved, reopened = False, 0
    for entry in entries:
        kind = (
            "first_update"
            if entry.kind in ("public_update", "stakeholders_notified")
            else entry.kind
        )
        first.setdefault(kind, entry.at)
        if entry.kind == "resolved":
            resolved, ever_resolved = entry.at, True
        elif entry.kind == "reopened":
            resolved = None
            reopened += 1
    reported = first.get("reported", incident.reported_at)
    policy = policy_for(incident)
    targets = {}
    if incident.severity:
        sla = policy.sla_for(incident.severity, incident.type)
        targets = {
            "acknowledge": sla.acknowledge,
            "first_update": sla.first_update,
            "resolve": sla.resolve,
        }
    return metrics.IncidentRecord(
        ref=incident.ref,
        title=incident.title,
        type=incident.type,
        severity=incident.severity,
        reported_at=reported,
        acknowledged_at=first.get("acknowledged"),
        triaged_at=first.get("categorized"),
        first_update_at=first.get("first_update"),
        resolved_at=resolved,
        ever_resolved=ever_resolved,
        reopened=reopened,
        targets=targets,
        components=components,
    )


def figures(
    by: User, first: dt.date, last: dt.date, *, latest: int | None = None
) -> dict[str, Any]:
    """Every figure for incidents reported from `first` to `last` (inclusive). `latest`: at
    most the newest this many of them; when the range holds more, the figures start at the
    report time of the oldest one kept ("latest": {"limit", "since"} in the result)."""
    require(by, "insights.view")
    start, end = _bounds(first, last)
    reported = incidents_reported_between(start, end)
    cut: dt.datetime | None = None
    if latest is None:
        incidents = list(reported)
    else:  # newest first over the (reported_at, id) index, then back in report order
        incidents = list(reported.order_by("-reported_at", "-id")[: latest + 1])[::-1]
        if len(incidents) > latest:
            incidents = incidents[1:]
            cut = incidents[0].reported_at
            first = local_date(cut)
    facts = step_facts(incidents)
    links = components_of(incidents)
    records = [
        record_of(
            i,
            facts[i.pk].entries,
            frozenset(links.get(i.pk, ())) if links is not None else None,
        )
        for i in incidents
    ]
    actions = [
        metrics.ActionRecord(
            due_date=a.due_date,
            status=a.status,
            done_on=local_date(a.done_at) if a.done_at else None,
        )
        for a in ActionItem.objects.filter(incident__in=[i.pk for i in incidents])
    ]
    now = clock.now()
    _, policy = active_policy()
    result = metrics.compute(
        records,
        actions,
        start=first,
        end=last,
        now=now,
        today=local_date(now),
        severities=list(policy.severities),
    )
    result["conformance"] = conformance.aggregate(incidents, facts)
    if cut is not None:
        result["latest"] = {"limit": latest, "since": cut.isoformat()}
    return result
