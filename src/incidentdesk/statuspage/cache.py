"""Responses of the public page, cached per page version.

Every public response is named by the page's version (bumped in the transaction of any change
the page shows) and today's date (the uptime bars move on at midnight). The version is one
row, read at most once a second per process: a client that has this version gets 304 Not
Modified; otherwise the rendered bytes come from this process's memory, rendered once per
version."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import threading
import time
from collections.abc import Callable
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from incidentdesk.core import clock

from .selectors import page_state

MAX_ENTRIES = 512

_lock = threading.Lock()
_render_lock = threading.Lock()
GZIP_MIN = 1024


class Entry:
    """A rendered response; its gzipped form is made on first request and kept."""

    __slots__ = ("body", "content_type", "gz", "status")

    def __init__(self, body: bytes, content_type: str, status: int) -> None:
        self.body, self.content_type, self.status = body, content_type, status
        self.gz: bytes | None = None

    def gzipped(self) -> bytes:
        if self.gz is None:
            self.gz = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self.gz


_store: dict[tuple[str, str, str, dt.date], Entry] = {}
_store_version: list[str] = [""]

Renderer = Callable[..., tuple[bytes, str] | tuple[bytes, str, int]]


_memo: list[Any] = [0.0, None]


def _state() -> tuple[str, dt.datetime]:
    """The page state, read at most once per STATUSPAGE_VERSION_TTL seconds per process: under
    a surge that spares the database all but a few reads a second. A change made in this
    process is seen at once (`forget`); one made elsewhere within the TTL."""
    ttl = float(getattr(settings, "STATUSPAGE_VERSION_TTL", 1.0))
    now = time.monotonic()
    if ttl > 0 and _memo[1] is not None and now - _memo[0] < ttl:
        return cast(tuple[str, dt.datetime], _memo[1])
    state = page_state()
    _memo[0], _memo[1] = now, state
    return state


def forget() -> None:
    """Read the page state afresh on the next request."""
    _memo[1] = None


def _stamp() -> tuple[str, dt.datetime, dt.date]:
    version, changed_at = _state()
    today = clock.now().date()
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    return version, max(changed_at, midnight), today


def _not_modified(request: HttpRequest, etag: str, modified: dt.datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return etag in tags or _tag(etag, True) in tags or match.strip() == "*"
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
    response["Vary"] = "Accept-Encoding"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"


def cached(*, cors: bool = False) -> Callable[[Renderer], Callable[..., HttpResponseBase]]:
    """Serve a renderer's (body, content type[, status]) through the version cache, gzipped
    (once per version) for clients that accept it."""

    def wrap(render: Renderer) -> Callable[..., HttpResponseBase]:
        @functools.wraps(render)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            version, modified, today = _stamp()
            etag = f'"sp{version}-{today:%Y%m%d}"'
            gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
            if request.method in ("GET", "HEAD") and _not_modified(request, etag, modified):
                response: HttpResponseBase = HttpResponse(status=304)
                _headers(response, _tag(etag, gzip_ok), modified, cors)
                return response
            key = (request.path, request.GET.urlencode(), version, today)
            hit = _store.get(key)
            if hit is None:
                # one render per process and version: the threads of a surge that arrive
                # meanwhile wait for it rather than each rendering the same page
                with _render_lock:
                    hit = _store.get(key)
                    if hit is None:
                        hit = _render(render, key, version, request, *args, **kwargs)
            if gzip_ok and hit.status == 200 and len(hit.body) > GZIP_MIN:
                response = HttpResponse(hit.gzipped(), content_type=hit.content_type)
                response["Content-Encoding"] = "gzip"
                _headers(response, _tag(etag, True), modified, cors)
                return response
            response = HttpResponse(hit.body, content_type=hit.content_type, status=hit.status)
            if hit.status == 200:
                _headers(response, etag, modified, cors)
            elif cors:
                response["Access-Control-Allow-Origin"] = "*"
            return response

        return view

    return wrap


def _render(
    render: Renderer, key: Any, version: str, request: HttpRequest, *args: Any, **kwargs: Any
) -> Entry:
    result = render(request, *args, **kwargs)
    status = result[2] if len(result) == 3 else 200
    entry = Entry(result[0], result[1], status)
    if status == 200:
        with _lock:
            if _store_version[0] != version or len(_store) >= MAX_ENTRIES:
                _store.clear()
                _store_version[0] = version
            _store[key] = entry
    return entry


def _tag(etag: str, gzipped: bool) -> str:
    return etag[:-1] + '-gz"' if gzipped else etag


def clear() -> None:
    with _lock:
        _store.clear()
    forget()
