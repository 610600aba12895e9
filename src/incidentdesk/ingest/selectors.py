"""Reading schedules: who is on call now and next, and each person's shifts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from incidentdesk.accounts.models import Role, User
from incidentdesk.core import clock
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.policy.schema import EscalationLevel, EscalationPolicy, Policy

from . import rotation
from .models import Escalation, Override, Schedule

LOOKAHEAD = dt.timedelta(days=28)
# the pages an incident's escalation state lists (levels x repeats stays far below)
PAGES_MAX = 200


@dataclass(frozen=True)
class Shift:
    schedule: Schedule
    user: User | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    source: str


@dataclass(frozen=True)
class OnCall:
    schedule: Schedule
    now: Shift | None
    next: Shift | None


def _specs(
    schedule: Schedule, start: dt.datetime, end: dt.datetime
) -> tuple[list[rotation.LayerSpec], list[rotation.OverrideSpec]]:
    layers = [
        rotation.LayerSpec(
            position=layer.position,
            rotation=layer.rotation,  # type: ignore[arg-type]
            handoff=layer.handoff_time,
            starts_on=layer.starts_on,
            members=tuple(m.user_id for m in layer.members.all()),
            covers_from=layer.covers_from,
            covers_until=layer.covers_until,
        )
        for layer in schedule.layers.prefetch_related("members")
    ]
    overrides = [
        rotation.OverrideSpec(o.user_id, o.starts_at, o.ends_at, o.pk)
        for o in Override.objects.filter(schedule=schedule, ends_at__gt=start, starts_at__lt=end)
    ]
    return layers, overrides


def shifts(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> list[Shift]:
    """The schedule's final shifts from `start` to `end` (empty spans included)."""
    layers, overrides = _specs(schedule, start, end)
    parts = rotation.segments(layers, overrides, start, end, ZoneInfo(schedule.time_zone))
    people = User.objects.in_bulk({p.user for p in parts if p.user is not None})
    return [
        Shift(schedule, people.get(p.user) if p.user else None, p.starts_at, p.ends_at, p.source)
        for p in parts
    ]


def oncall(schedule: Schedule, at: dt.datetime | None = None) -> OnCall:
    """Who is on call at `at` (now by default) and who comes next, within four weeks."""
    at = at or clock.now()
    around = shifts(schedule, at - LOOKAHEAD, at + LOOKAHEAD)
    current = next((s for s in around if s.starts_at <= at < s.ends_at), None)
    if current is not None and current.user is None:
        current = None
    following = next(
        (
            s
            for s in around
            if s.starts_at > at
            and s.user is not None
            and (current is None or s.user != current.user or s.starts_at > current.ends_at)
        ),
        None,
    )
    return OnCall(schedule, current, following)


def oncall_everywhere(at: dt.datetime | None = None) -> list[OnCall]:
    return [oncall(s, at) for s in Schedule.objects.all()]


def person_shifts(user: User, start: dt.datetime, end: dt.datetime) -> list[Shift]:
    """Every shift of `user` in every schedule from `start` to `end`."""
    return [
        s
        for schedule in Schedule.objects.all()
        for s in shifts(schedule, start, end)
        if s.user is not None and s.user.pk == user.pk
    ]


def level_targets(level: EscalationLevel, at: dt.datetime) -> tuple[list[User], str]:
    """(the people an escalation level pages at `at`, who they are in words)."""
    if level.managers:
        managers = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("email")
        return list(managers), "the manager"
    if level.people:
        wanted = [e.strip().lower() for e in level.people]
        found = {u.email: u for u in User.objects.filter(email__in=wanted, is_active=True)}
        return [found[e] for e in wanted if e in found], ", ".join(wanted)
    name = level.schedule or ""
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        return [], f"there is no schedule named “{name}”"
    current = oncall(schedule, at).now
    if current is None or current.user is None:
        return [], f"nobody is on call in {name}"
    return [current.user], f"the person on call in {name}"


@dataclass(frozen=True)
class LevelNow:
    number: int
    level: EscalationLevel
    people: list[User]
    whom: str


def escalation_overview(
    policy: Policy, at: dt.datetime | None = None
) -> list[tuple[EscalationPolicy, list[LevelNow]]]:
    """Each escalation policy of `policy` with who each of its levels would page at `at`."""
    at = at or clock.now()
    return [
        (
            rule,
            [
                LevelNow(i + 1, level, *level_targets(level, at))
                for i, level in enumerate(rule.levels)
            ],
        )
        for rule in policy.escalation
    ]


@dataclass(frozen=True)
class EscalationState:
    """Where an incident's paging stands, in one word (`state`), with its policy and the
    pages written on its timeline so far."""

    state: str
    escalation: Escalation | None
    rule: EscalationPolicy | None
    pages: list[TimelineEntry]


def escalation_state(incident: Incident) -> EscalationState:
    """`none` (no policy pages for it), `waiting` (nobody paged yet: at once, or when working
    hours begin), `paging` (a level was paged, the next step is due later), `acknowledged`,
    `stopped` (the incident is no longer open) or `exhausted` (every level and repeat was
    paged, nobody acknowledged)."""
    escalation = Escalation.objects.filter(incident=incident).first()
    if escalation is None:
        return EscalationState("none", None, None, [])
    policy = policy_for(incident)
    rule = next((e for e in policy.escalation if e.name == escalation.policy), None)
    if rule is None:
        rule = policy.escalation_for(incident.severity, escalation.source)
    pages = list(
        TimelineEntry.objects.filter(incident=incident, kind="paged").order_by("seq")[:PAGES_MAX]
    )
    if incident.acknowledged_at is not None:
        state = "acknowledged"
    elif incident.status not in lifecycle.OPEN or escalation.stopped_at is not None:
        state = "stopped"
    elif escalation.level == 0 and escalation.round == 0:
        state = "waiting" if rule is not None else "none"
    elif escalation.due_at is None:
        state = "exhausted"
    else:
        state = "paging"
    return EscalationState(state, escalation, rule, pages)
