"""The outermost middleware: names each request, times it, counts it for /metrics and writes
its log line."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from incidentdesk.core.logs import current_request_id

from . import metrics

log = logging.getLogger("incidentdesk.requests")

# a request id a proxy in front set is kept when it is this tame; otherwise a new one is made
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# control characters in a path would break a log line in two
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
HEADER = "X-Request-ID"


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (`incidents:detail`), never the raw path: a label that does not
    grow with the number of incidents."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestObserver:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = route_of(request)
            path = UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", request.path[:500])
            metrics.observe_request(route, request.method or "", response.status_code, seconds)
            response[HEADER] = request_id
            log.info(
                "%s %s %s %.1f ms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            return response
        finally:
            current_request_id.reset(token)
