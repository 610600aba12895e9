"""Who is on call: rotations, layers and overrides as pure data and arithmetic. No ORM here.

A layer hands off at a local time of day in the schedule's time zone, daily or weekly
(on the weekday of its first day), through its members in order. Handoffs follow the
local clock: a 09:00 handoff stays at 09:00 across a daylight-saving change. A layer may
cover only part of the day (`covers_from`..`covers_until`, local); the highest layer that
covers an instant decides it. An override decides over every layer for its span; the most
recent override wins where two overlap."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

Rotation = Literal["daily", "weekly"]
PERIOD_DAYS = {"daily": 1, "weekly": 7}


@dataclass(frozen=True)
class LayerSpec:
    position: int
    rotation: Rotation
    handoff: dt.time
    starts_on: dt.date
    members: tuple[int, ...]
    covers_from: dt.time | None = None
    covers_until: dt.time | None = None


@dataclass(frozen=True)
class OverrideSpec:
    user: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    created: int  # later overrides win


@dataclass(frozen=True)
class Segment:
    user: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    source: str  # "layer N" or "override"


def _local(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return at.astimezone(tz)


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def shift_index(layer: LayerSpec, at: dt.datetime, tz: ZoneInfo) -> int | None:
    """How many handoffs after its first the layer is at `at`; None before it starts."""
    local = _local(at, tz)
    days = (local.date() - layer.starts_on).days
    if local.time() < layer.handoff:
        days -= 1
    if days < 0:
        return None
    return days // PERIOD_DAYS[layer.rotation]


def _covers(layer: LayerSpec, at: dt.datetime, tz: ZoneInfo) -> bool:
    if layer.covers_from is None or layer.covers_until is None:
        return True
    t = _local(at, tz).time()
    if layer.covers_from <= layer.covers_until:
        return layer.covers_from <= t < layer.covers_until
    return t >= layer.covers_from or t < layer.covers_until  # across midnight


def layer_user(layer: LayerSpec, at: dt.datetime, tz: ZoneInfo) -> int | None:
    if not layer.members or not _covers(layer, at, tz):
        return None
    index = shift_index(layer, at, tz)
    return None if index is None else layer.members[index % len(layer.members)]


def who(
    layers: list[LayerSpec], overrides: list[OverrideSpec], at: dt.datetime, tz: ZoneInfo
) -> tuple[int | None, str]:
    """(user on call at `at`, what decided it)."""
    covering = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if covering:
        return max(covering, key=lambda o: o.created).user, "override"
    for layer in sorted(layers, key=lambda la: -la.position):
        user = layer_user(layer, at, tz)
        if user is not None:
            return user, f"layer {layer.position}"
    return None, ""


def _boundaries(
    layers: list[LayerSpec],
    overrides: list[OverrideSpec],
    start: dt.datetime,
    end: dt.datetime,
    tz: ZoneInfo,
) -> list[dt.datetime]:
    points = {start, end}
    first, last = _local(start, tz).date() - dt.timedelta(days=1), _local(end, tz).date()
    day = first
    while day <= last + dt.timedelta(days=1):
        for layer in layers:
            times = [layer.handoff]
            if layer.covers_from is not None and layer.covers_until is not None:
                times += [layer.covers_from, layer.covers_until]
            points.update(_at(day, t, tz) for t in times)
        day += dt.timedelta(days=1)
    for o in overrides:
        points.update((o.starts_at, o.ends_at))
    return sorted(p for p in points if start <= p <= end)


def segments(
    layers: list[LayerSpec],
    overrides: list[OverrideSpec],
    start: dt.datetime,
    end: dt.datetime,
    tz: ZoneInfo,
) -> list[Segment]:
    """The final schedule from `start` to `end`: who is on call when, adjacent spans of the
    same person and source merged."""
    points = _boundaries(layers, overrides, start, end, tz)
    result: list[Segment] = []
    for begin, finish in itertools.pairwise(points):
        if begin >= finish:
            continue
        user, source = who(layers, overrides, begin, tz)
        if result and result[-1].user == user and result[-1].source == source:
            result[-1] = Segment(user, result[-1].starts_at, finish, source)
        else:
            result.append(Segment(user, begin, finish, source))
    return result
