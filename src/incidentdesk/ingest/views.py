"""The PagerDuty-compatible Events API v2 at /v2/enqueue and /v2/change/enqueue.

Answers are PagerDuty's: 202 with `{"status": "success", ...}`, or 400 with
`{"status": "invalid event", "message": ..., "errors": [...]}`, so senders that speak to
PagerDuty work by changing only their URL. An invalid event writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from incidentdesk.core.errors import DomainError

from . import pagerduty
from .models import Integration
from .services import (
    KEY_REFUSED,
    AlertEvent,
    alert_receive,
    change_receive,
    integration_for_key,
)


def invalid(errors: list[str], message: str = "Event object is invalid") -> JsonResponse:
    return JsonResponse(
        {"status": "invalid event", "message": message, "errors": errors}, status=400
    )


Parse = Callable[[Any], tuple[AlertEvent | None, list[str]]]
TOO_LARGE = "Event is too large"


def event_of(
    raw: bytes,
    header_key: str | None,
    parse: Parse,
    lookup: Callable[[str], Integration | None],
) -> tuple[Integration | None, AlertEvent | None, list[str]]:
    """(integration, event, []) for a valid event of an active key; else the problems, in
    PagerDuty's words. Shared by this view and the served front (front.py)."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, None, ["Event body is not valid JSON"]
    event, errors = parse(body)
    key = pagerduty.routing_key(body, header_key)
    integration = lookup(key) if key else None
    if not key:
        errors = ["'routing_key' is missing or blank", *errors]
    elif integration is None:
        errors = [KEY_REFUSED, *errors]
    if errors or event is None or integration is None:
        return None, None, errors
    return integration, event, []


def _read(
    request: HttpRequest, parse: Parse
) -> tuple[Integration | None, AlertEvent | None, JsonResponse | None]:
    if request.method != "POST":
        response = JsonResponse(
            {"status": "invalid request", "message": "Use POST.", "errors": []}, status=405
        )
        response["Allow"] = "POST"
        return None, None, response
    try:
        raw = request.body
    except RequestDataTooBig:
        return None, None, invalid([TOO_LARGE])
    integration, event, errors = event_of(
        raw, request.headers.get("X-Routing-Key"), parse, integration_for_key
    )
    if errors:
        return None, None, invalid(errors)
    return integration, event, None


@csrf_exempt
def enqueue(request: HttpRequest) -> JsonResponse:
    integration, event, refused = _read(request, pagerduty.alert_event)
    if refused is not None:
        return refused
    assert integration is not None and event is not None
    try:
        outcome = alert_receive(integration=integration, event=event)
    except DomainError as exc:
        return invalid([exc.detail, *(e.message for e in exc.errors)])
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key},
        status=202,
    )


@csrf_exempt
def change_enqueue(request: HttpRequest) -> JsonResponse:
    integration, event, refused = _read(request, pagerduty.change_event)
    if refused is not None:
        return refused
    assert integration is not None and event is not None
    change_receive(integration=integration, event=event)
    return JsonResponse({"status": "success", "message": "Change event processed"}, status=202)
