"""Parsing what the management forms post."""

from __future__ import annotations

import datetime as dt

from incidentdesk.core.errors import FieldError, InvalidInput


def parse_window(start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    """Times from `datetime-local` inputs, read as UTC (the page shows UTC)."""
    errors: list[FieldError] = []
    parsed: list[dt.datetime] = []
    for name, raw in (("scheduled_for", start), ("scheduled_until", end)):
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            errors.append(FieldError(name, "Give a date and time, e.g. 2026-12-01T22:00."))
            continue
        parsed.append(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if errors:
        raise InvalidInput("The maintenance was not scheduled.", errors)
    return parsed[0], parsed[1]
