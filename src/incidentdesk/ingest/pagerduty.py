"""PagerDuty's Events API v2, read as its documentation describes it: an event's fields and
the problems found in them, in PagerDuty's words. No database here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .models import DEDUP_KEY_MAX, SUMMARY_MAX
from .services import AlertEvent

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _timestamp(value: Any, name: str, errors: list[str]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        errors.append(f"'{name}' is not a valid ISO 8601 timestamp")
        return None
    if parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        errors.append(f"'{name}' is out of range")
        return None


def _links(value: Any, errors: list[str]) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append("'links' must be an array of objects")
        return []
    return [
        {"href": _text(link.get("href")), "text": _text(link.get("text"))}
        for link in value[:20]
        if _text(link.get("href"))
    ]


def routing_key(body: Any, header: str | None) -> str:
    """The routing key of a request: in the body, or (older clients) the X-Routing-Key
    header."""
    key = _text(body.get("routing_key")) if isinstance(body, dict) else ""
    return key or (header or "").strip()


def alert_event(body: Any) -> tuple[AlertEvent | None, list[str]]:
    """(event, []) for a valid alert event; (None, problems) otherwise."""
    if not isinstance(body, dict):
        return None, ["Event object must be a JSON object"]
    errors: list[str] = []
    action = _text(body.get("event_action"))
    if not action:
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(ACTIONS)}")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
        dedup_key = ""
    dedup_key = (dedup_key or "").strip()
    if len(dedup_key) > DEDUP_KEY_MAX:
        errors.append(f"'dedup_key' must be at most {DEDUP_KEY_MAX} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    event = AlertEvent(action="trigger", dedup_key=dedup_key)
    if action == "trigger":
        _payload(body.get("payload"), event, errors)
        event.links = _links(body.get("links"), errors)
    if errors:
        return None, errors
    event.action = action  # type: ignore[assignment]
    return event, []


def _payload(payload: Any, event: AlertEvent, errors: list[str]) -> None:
    if not isinstance(payload, dict):
        errors.append("'payload' is missing or is not an object")
        return
    event.summary = _text(payload.get("summary"))
    event.source = _text(payload.get("source"))
    event.severity = _text(payload.get("severity")).lower()
    if not event.summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(event.summary) > SUMMARY_MAX:
        errors.append(f"'payload.summary' must be at most {SUMMARY_MAX} characters")
    if not event.source:
        errors.append("'payload.source' is missing or blank")
    if not event.severity:
        errors.append("'payload.severity' is missing or blank")
    elif event.severity not in SEVERITIES:
        errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    event.timestamp = _timestamp(payload.get("timestamp"), "payload.timestamp", errors)
    event.component = _text(payload.get("component"))[:100]
    event.group = _text(payload.get("group"))[:100]
    event.kind = _text(payload.get("class"))[:100]
    details = payload.get("custom_details")
    if isinstance(details, dict):
        event.details = {str(k)[:100]: v for k, v in list(details.items())[:50]}
    elif details not in (None, ""):
        event.details = {"details": details}


def change_event(body: Any) -> tuple[AlertEvent | None, list[str]]:
    """A change event (`/v2/change/enqueue`): payload summary and source, links."""
    if not isinstance(body, dict):
        return None, ["Event object must be a JSON object"]
    errors: list[str] = []
    payload = body.get("payload")
    event = AlertEvent(action="trigger")
    if not isinstance(payload, dict):
        errors.append("'payload' is missing or is not an object")
    else:
        event.summary = _text(payload.get("summary"))
        event.source = _text(payload.get("source"))
        if not event.summary:
            errors.append("'payload.summary' is missing or blank")
        elif len(event.summary) > SUMMARY_MAX:
            errors.append(f"'payload.summary' must be at most {SUMMARY_MAX} characters")
        event.timestamp = _timestamp(payload.get("timestamp"), "payload.timestamp", errors)
    event.links = _links(body.get("links"), errors)
    return (None, errors) if errors else (event, [])
