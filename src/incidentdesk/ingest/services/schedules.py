"""On-call schedules: managers build them (layers of rotations); anyone on the team takes a
shift for themselves with an override, a manager for anyone. Each change is audited."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Max

from incidentdesk.accounts.models import TEAM_ROLES, User
from incidentdesk.accounts.permissions import can, require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record

from ..models import NAME_MAX, Layer, LayerMember, Override, Rotation, Schedule

OVERRIDE_MAX = dt.timedelta(days=31)


def _require(by: User | None, action: str) -> None:
    if by is not None:
        require(by, action)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_error(
            "time_zone", f"Unknown time zone {name!r} (e.g. Europe/Berlin, UTC)."
        ) from None


def schedule_get(name: str) -> Schedule:
    schedule = Schedule.objects.filter(name=name.strip()).first()
    if schedule is None:
        raise NotFound(f"No schedule named {name.strip()!r}.")
    return schedule


def schedule_create(*, by: User | None, name: str, time_zone: str) -> Schedule:
    _require(by, "schedule.manage")
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise field_error("name", f"A schedule name has 1 to {NAME_MAX} characters.")
    _zone(time_zone)
    with transaction.atomic():
        if Schedule.objects.filter(name=name).exists():
            raise Conflict(f"A schedule named {name!r} already exists.")
        schedule = Schedule.objects.create(name=name, time_zone=time_zone, created_at=clock.now())
        audit_record(
            by=by, kind="schedule_created", data={"schedule": name, "time_zone": time_zone}
        )
    return schedule


def _team_members(emails: list[str]) -> tuple[list[User], list[FieldError]]:
    wanted = [e.strip().lower() for e in emails if e.strip()]
    found = {
        u.email: u
        for u in User.objects.filter(email__in=wanted, is_active=True, role__in=TEAM_ROLES)
    }
    errors = [
        FieldError("members", f"{email} is not an active member of the team.")
        for email in wanted
        if email not in found
    ]
    if not wanted:
        errors.append(FieldError("members", "A layer needs at least one member."))
    return [found[e] for e in wanted if e in found], errors


def schedule_add_layer(
    *,
    by: User | None,
    schedule: Schedule,
    name: str,
    rotation: str,
    handoff_time: dt.time,
    starts_on: dt.date,
    members: list[str],
    covers_from: dt.time | None = None,
    covers_until: dt.time | None = None,
) -> Layer:
    """Add a layer on top of the schedule's others: it decides wherever it covers."""
    _require(by, "schedule.manage")
    people, errors = _team_members(members)
    if rotation not in Rotation.values:
        errors.append(FieldError("rotation", "A rotation is daily or weekly."))
    if (covers_from is None) != (covers_until is None) or (
        covers_from is not None and covers_from == covers_until
    ):
        errors.append(
            FieldError("covers_from", "Give both ends of the hours a layer covers, or neither.")
        )
    if not name.strip():
        errors.append(FieldError("name", "Name is required."))
    if errors:
        raise InvalidInput("The layer was not added.", errors)
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        top = locked.layers.aggregate(top=Max("position"))["top"]
        layer = Layer.objects.create(
            schedule=locked,
            position=(top or 0) + 1,
            name=name.strip()[:NAME_MAX],
            rotation=rotation,
            handoff_time=handoff_time,
            starts_on=starts_on,
            covers_from=covers_from,
            covers_until=covers_until,
        )
        LayerMember.objects.bulk_create(
            LayerMember(layer=layer, user=u, position=i) for i, u in enumerate(people)
        )
        audit_record(
            by=by,
            kind="schedule_layer_added",
            data={
                "schedule": locked.name,
                "layer": layer.name,
                "rotation": rotation,
                "handoff_time": handoff_time.isoformat(),
                "starts_on": starts_on.isoformat(),
                "members": [u.email for u in people],
            },
        )
    return layer


def override_create(
    *,
    by: User | None,
    schedule: Schedule,
    user: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> Override:
    """Put `user` on call from `starts_at` to `ends_at` over every layer. A member takes
    shifts for themselves; a manager for anyone on the team."""
    if by is not None:
        if by.pk == user.pk:
            require(by, "schedule.override_self")
        else:
            require(by, "schedule.manage")
    errors: list[FieldError] = []
    if not user.is_active or user.role not in TEAM_ROLES:
        errors.append(FieldError("user", f"{user.email} is not an active member of the team."))
    if ends_at <= starts_at:
        errors.append(FieldError("ends_at", "The end must be after the start."))
    elif ends_at - starts_at > OVERRIDE_MAX:
        errors.append(FieldError("ends_at", "An override lasts at most 31 days."))
    if errors:
        raise InvalidInput("The override was not made.", errors)
    with transaction.atomic():
        override = Override.objects.create(
            schedule=schedule,
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=by,
            created_at=clock.now(),
        )
        audit_record(
            by=by,
            kind="schedule_override",
            data={
                "schedule": schedule.name,
                "user": user.email,
                "from": starts_at.isoformat(),
                "until": ends_at.isoformat(),
            },
        )
    return override


def may_override_for(by: User, user: User) -> bool:
    return can(by, "schedule.manage") or (by.pk == user.pk and can(by, "schedule.override_self"))
