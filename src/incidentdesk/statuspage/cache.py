"""Responses of the public page, cached per page version.

Every public response is named by the page's version (bumped in the transaction of any change
the page shows) and today's date (the uptime bars move on at midnight). A request costs one
one-row read: a client that has this version gets 304 Not Modified; otherwise the rendered
bytes come from this process's memory, rendered once per version."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from incidentdesk.core import clock

from .selectors import page_state

MAX_ENTRIES = 512

_lock = threading.Lock()
_store: dict[tuple[str, str, str, dt.date], tuple[bytes, str, int]] = {}
_store_version: list[str] = [""]

Renderer = Callable[..., tuple[bytes, str] | tuple[bytes, str, int]]


def _stamp() -> tuple[str, dt.datetime, dt.date]:
    version, changed_at = page_state()
    today = clock.now().date()
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    return version, max(changed_at, midnight), today


def _not_modified(request: HttpRequest, etag: str, modified: dt.datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        return etag in [t.strip() for t in match.split(",")] or match.strip() == "*"
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(since) >= modified.replace(microsecond=0)
        except (TypeError, ValueError):
            return False
    return False


def _headers(response: HttpResponseBase, etag: str, modified: dt.datetime, cors: bool) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = format_datetime(modified.astimezone(dt.UTC), usegmt=True)
    max_age = int(getattr(settings, "STATUSPAGE_MAX_AGE", 0))
    response["Cache-Control"] = f"public, max-age={max_age}" if max_age else "public, no-cache"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"


def cached(*, cors: bool = False) -> Callable[[Renderer], Callable[..., HttpResponseBase]]:
    """Serve a renderer's (body, content type[, status]) through the version cache."""

    def wrap(render: Renderer) -> Callable[..., HttpResponseBase]:
        @functools.wraps(render)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            version, modified, today = _stamp()
            etag = f'"sp{version}-{today:%Y%m%d}"'
            if request.method in ("GET", "HEAD") and _not_modified(request, etag, modified):
                response: HttpResponseBase = HttpResponse(status=304)
                _headers(response, etag, modified, cors)
                return response
            key = (request.path, request.GET.urlencode(), version, today)
            hit = _store.get(key)
            if hit is None:
                result = render(request, *args, **kwargs)
                body, content_type = result[0], result[1]
                status = result[2] if len(result) == 3 else 200
                hit = (body, content_type, status)
                if status == 200:
                    with _lock:
                        if _store_version[0] != version or len(_store) >= MAX_ENTRIES:
                            _store.clear()
                            _store_version[0] = version
                        _store[key] = hit
            response = HttpResponse(hit[0], content_type=hit[1], status=hit[2])
            if hit[2] == 200:
                _headers(response, etag, modified, cors)
            elif cors:
                response["Access-Control-Allow-Origin"] = "*"
            return response

        return view

    return wrap


def clear() -> None:
    with _lock:
        _store.clear()
