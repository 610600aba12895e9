"""Atlassian Statuspage's documented v2 shapes (https://metastatuspage.com/api/v2/), written out
field by field: the key set must match exactly and every value must have the documented type."""

from __future__ import annotations

import re
from typing import Any

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class Ts:
    """A timestamp with milliseconds and a UTC offset, e.g. 2014-05-14T14:22:40.301-06:00."""


class Date:
    pass


class Enum:
    def __init__(self, *values: str) -> None:
        self.values = values


class Opt:
    def __init__(self, inner: Any) -> None:
        self.inner = inner


class ListOf:
    def __init__(self, inner: Any) -> None:
        self.inner = inner


COMPONENT_STATUS = Enum(
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
)
INDICATOR = Enum("none", "minor", "major", "critical")

PAGE = {"id": str, "name": str, "url": str, "time_zone": str, "updated_at": Ts}
STATUS = {"indicator": INDICATOR, "description": str}
COMPONENT = {
    "id": str,
    "name": str,
    "status": COMPONENT_STATUS,
    "created_at": Ts,
    "updated_at": Ts,
    "position": int,
    "description": Opt(str),
    "showcase": bool,
    "start_date": Opt(Date),
    "group_id": Opt(str),
    "page_id": str,
    "group": bool,
    "only_show_if_degraded": bool,
}
GROUP = {**COMPONENT, "components": ListOf(str)}
AFFECTED = {
    "code": str,
    "name": str,
    "old_status": COMPONENT_STATUS,
    "new_status": COMPONENT_STATUS,
}


def _update(statuses: Enum) -> dict[str, Any]:
    return {
        "id": str,
        "status": statuses,
        "body": str,
        "incident_id": str,
        "created_at": Ts,
        "updated_at": Ts,
        "display_at": Ts,
        "affected_components": Opt(ListOf(AFFECTED)),
        "deliver_notifications": bool,
        "custom_tweet": Opt(str),
        "tweet_id": Opt(str),
    }


INCIDENT_STATUS = Enum("investigating", "identified", "monitoring", "resolved", "postmortem")
INCIDENT = {
    "id": str,
    "name": str,
    "status": INCIDENT_STATUS,
    "created_at": Ts,
    "updated_at": Ts,
    "monitoring_at": Opt(Ts),
    "resolved_at": Opt(Ts),
    "impact": INDICATOR,
    "shortlink": str,
    "started_at": Ts,
    "page_id": str,
    "incident_updates": ListOf(_update(INCIDENT_STATUS)),
    "components": ListOf(COMPONENT),
}
MAINTENANCE_STATUS = Enum("scheduled", "in_progress", "verifying", "completed")
MAINTENANCE = {
    **INCIDENT,
    "status": MAINTENANCE_STATUS,
    "impact": Enum("none", "minor", "major", "critical", "maintenance"),
    "incident_updates": ListOf(_update(MAINTENANCE_STATUS)),
    "scheduled_for": Ts,
    "scheduled_until": Ts,
}
COMPONENT_OR_GROUP = "component-or-group"

DOCUMENTS = {
    "summary.json": {
        "page": PAGE,
        "components": ListOf(COMPONENT_OR_GROUP),
        "incidents": ListOf(INCIDENT),
        "scheduled_maintenances": ListOf(MAINTENANCE),
        "status": STATUS,
    },
    "status.json": {"page": PAGE, "status": STATUS},
    "components.json": {"page": PAGE, "components": ListOf(COMPONENT_OR_GROUP)},
    "incidents.json": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "incidents/unresolved.json": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "scheduled-maintenances.json": {"page": PAGE, "scheduled_maintenances": ListOf(MAINTENANCE)},
    "scheduled-maintenances/upcoming.json": {
        "page": PAGE,
        "scheduled_maintenances": ListOf(MAINTENANCE),
    },
    "scheduled-maintenances/active.json": {
        "page": PAGE,
        "scheduled_maintenances": ListOf(MAINTENANCE),
    },
}


def check(value: Any, shape: Any, path: str = "$") -> None:
    """Assert that `value` has exactly `shape`; the message names the offending path."""
    if shape == COMPONENT_OR_GROUP:
        check(value, GROUP if value.get("group") else COMPONENT, path)
    elif isinstance(shape, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert set(value) == set(shape), (
            f"{path}: keys differ: missing {set(shape) - set(value)}, extra {set(value) - set(shape)}"
        )
        for key, inner in shape.items():
            check(value[key], inner, f"{path}.{key}")
    elif isinstance(shape, Opt):
        if value is not None:
            check(value, shape.inner, path)
    elif isinstance(shape, ListOf):
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            check(item, shape.inner, f"{path}[{i}]")
    elif isinstance(shape, Enum):
        assert value in shape.values, f"{path}: {value!r} is not one of {shape.values}"
    elif shape is Ts:
        assert isinstance(value, str) and TIMESTAMP.match(value), (
            f"{path}: {value!r} is not a timestamp"
        )
    elif shape is Date:
        assert isinstance(value, str) and DATE.match(value), f"{path}: {value!r} is not a date"
    elif shape is bool:
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif shape is int:
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{path}: expected an integer"
        )
    elif shape is str:
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
    else:
        raise AssertionError(f"{path}: unknown shape {shape!r}")
