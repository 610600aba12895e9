"""Responses of the public page, cached per page version.

Every public response is named by the page's version (bumped in the transaction of any change
the page shows) and today's date (the uptime bars move on at midnight). The version is one
row, read at most once a second per process: a client that has this version gets 304 Not
Modified; otherwise the rendered bytes come from this process's memory, rendered once per
version. (Most public URLs are answered before Django, by the prepared front: `front.py`.)

An entry's key is the normalised request: the path and only the query parameters the view
declares (none of today's views reads one), so `?x=<random>` is the same entry. Each key is
rendered once however many requests ask for it at the same moment (the others wait for that
render, not for renders of other keys), and the least recently used entry leaves when the
store is full, one at a time."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from incidentdesk.core import clock

from .selectors import page_state

MAX_ENTRIES = 512

# guards the store and the renders in flight; never held while rendering
_lock = threading.Lock()
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


Key = tuple[str, tuple[tuple[str, str], ...], str, dt.date]
_store: OrderedDict[Key, Entry] = OrderedDict()


class Flight:
    """A render in progress: the requests for the same key wait for its entry."""

    __slots__ = ("done", "entry")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: Entry | None = None


_flights: dict[Key, Flight] = {}

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


def cached(
    *, cors: bool = False, params: Sequence[str] = ()
) -> Callable[[Renderer], Callable[..., HttpResponseBase]]:
    """Serve a renderer's (body, content type[, status]) through the version cache, gzipped
    (once per version) for clients that accept it. `params` names the query parameters the
    renderer reads; any other parameter is ignored."""

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
            known = tuple((name, request.GET.get(name, "")) for name in params)
            key: Key = (request.path, known, version, today)
            hit = _fetch(key, lambda: _render(render, request, *args, **kwargs))
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


def _render(render: Renderer, request: HttpRequest, *args: Any, **kwargs: Any) -> Entry:
    result = render(request, *args, **kwargs)
    return Entry(result[0], result[1], result[2] if len(result) == 3 else 200)


def _fetch(key: Key, make: Callable[[], Entry]) -> Entry:
    """The entry for `key`: from the store, from a render in flight for the same key, or
    rendered here. A surge's threads wait for the one render of their key only."""
    with _lock:
        hit = _store.get(key)
        if hit is not None:
            _store.move_to_end(key)
            return hit
        flight = _flights.get(key)
        mine = flight is None
        if flight is None:
            flight = _flights[key] = Flight()
    if not mine:
        flight.done.wait(timeout=30)
        if flight.entry is not None:
            return flight.entry
        return make()  # the render it waited for failed: its error is this request's too
    try:
        entry = make()
        flight.entry = entry
        if entry.status == 200:
            with _lock:
                _store[key] = entry
                while len(_store) > MAX_ENTRIES:
                    _store.popitem(last=False)
        return entry
    finally:
        with _lock:
            _flights.pop(key, None)
        flight.done.set()


def _tag(etag: str, gzipped: bool) -> str:
    return etag[:-1] + '-gz"' if gzipped else etag


def clear() -> None:
    with _lock:
        _store.clear()
    forget()
