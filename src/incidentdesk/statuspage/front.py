"""Serving the prepared front before Django is called.

`PreparedFront` wraps the WSGI application. A GET or HEAD of a URL the prepared manifest
names is answered from memory: the bytes read once per change from the public dir, with
`ETag`, `Last-Modified`, `Cache-Control`, `Vary`, the security headers Django's middleware
sets on a page, a 304 to a matching `If-None-Match` or `If-Modified-Since`, and the brotli or
gzip copy when the client accepts it. A query string changes nothing these URLs show, so it is
ignored. Any other request, or one the front cannot answer (no manifest yet, a file replaced
while it was read), goes to Django, whose views serve the same bytes through their cache.

The manifest's status (inode, time, size) is read on each request: a change a preparation
renamed into place is served from the next request on, in every process.

Each answer is counted for /metrics under the route Django would have named
(`statuspage:page`), method and status: an integer on the URL's Prepared is incremented, and a
thread of the front's own hands the counts to the `count` given to `wrap` once a second, so a
surge costs an addition an answer, not a write to the metrics files. These answers are not
timed: they come from memory in microseconds."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import brotli

from .prepared import ENCODINGS, MANIFEST

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# (route, method, status, how many): how the answers are counted for /metrics
Count = Callable[[str, str, int, int], None]
COUNT_EVERY_SECONDS = 1.0
# what a Prepared counts of its answers, by index
ANSWERED = (("GET", 200), ("GET", 304), ("HEAD", 200), ("HEAD", 304))
PREFIXES = ("/status/", "/api/v2/")
# best first: brotli is the smaller
PREFERENCE = ("br", "gzip")
DECODERS = {"br": brotli.decompress, "gzip": gzip.decompress}


class Prepared:
    """One URL's bytes in each encoding, with their headers made once."""

    __slots__ = ("answered", "bodies", "etags", "headers", "modified", "not_modified", "route")

    def __init__(
        self,
        bodies: dict[str, bytes],
        entry: dict[str, Any],
        modified: str,
        common: list[Any],
        route: str = "prepared",
    ) -> None:
        self.bodies = bodies
        self.route = route
        # answers since they were last counted for /metrics, by ANSWERED's (method, status)
        self.answered = [0] * len(ANSWERED)
        tag = entry["sha"]
        self.etags = {
            name: f'"{tag}"' if name == "identity" else f'"{tag}-{name}"' for name in bodies
        }
        self.modified = modified
        extra = [("Access-Control-Allow-Origin", "*")] if entry["cors"] else []
        self.headers: dict[str, list[tuple[str, str]]] = {}
        self.not_modified: dict[str, list[tuple[str, str]]] = {}
        for name, body in bodies.items():
            validators = [("ETag", self.etags[name]), ("Last-Modified", modified), *common, *extra]
            encoding = [] if name == "identity" else [("Content-Encoding", name)]
            self.headers[name] = [
                ("Content-Type", entry["type"]),
                ("Content-Length", str(len(body))),
                *encoding,
                *validators,
            ]
            self.not_modified[name] = validators

    def encoding_for(self, accept: str) -> str:
        if accept:
            for name in PREFERENCE:
                if name in self.bodies and name in accept and f"{name};q=0" not in accept:
                    return name
        return "identity"

    def fresh(self, environ: dict[str, Any]) -> bool:
        """Whether the client's copy is this one (RFC 9110: If-None-Match wins)."""
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match is not None:
            if match.strip() == "*":
                return True
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return not tags.isdisjoint(self.etags.values())
        since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if since:
            try:
                return parsedate_to_datetime(since) >= parsedate_to_datetime(self.modified)
            except (TypeError, ValueError):
                return False
        return False


class Generation:
    """One manifest's URLs and what has been read of them: replaced whole when the manifest
    changes, so a file read under an older manifest never lands in a newer one's table."""

    __slots__ = ("entries", "loaded", "modified", "seen")

    def __init__(self, seen: tuple[int, int, int] | None, manifest: dict[str, Any]) -> None:
        self.seen = seen
        self.entries: dict[str, Any] = manifest.get("files", {})
        self.modified: str = manifest.get("modified", "")
        self.loaded: dict[str, Prepared] = {}


class Tally:
    """Answers counted on each URL's Prepared (an integer incremented an answer), handed to
    `count` once a second by a thread of the front's own (see the module's docstring)."""

    def __init__(self, count: Count, live: Callable[[], Iterable[Prepared]]) -> None:
        self.count = count
        self.live = live
        self.lock = threading.Lock()
        self.watched: list[Prepared] = []
        self.flusher: threading.Thread | None = None

    def watch(self, found: Prepared) -> None:
        with self.lock:
            self.watched.append(found)
            if self.flusher is None:
                self.flusher = threading.Thread(target=self._flush_each_second, daemon=True)
                self.flusher.start()

    def flush(self) -> None:
        with self.lock:
            watched = list(self.watched)
        for found in watched:
            for i, n in enumerate(found.answered):
                if n:
                    found.answered[i] -= n
                    method, status = ANSWERED[i]
                    self.count(found.route, method, status, n)
        # a URL of a replaced manifest answers no more once it has been counted
        live = {id(found) for found in self.live()}
        with self.lock:
            self.watched = [found for found in self.watched if id(found) in live]

    def _flush_each_second(self) -> None:
        while True:
            time.sleep(COUNT_EVERY_SECONDS)
            self.flush()


class PreparedFront:
    def __init__(
        self,
        app: WSGIApp,
        root: Path,
        common: list[tuple[str, str]],
        count: Count | None = None,
    ) -> None:
        self.app = app
        self.root = root
        self.manifest = root / MANIFEST
        self.common = common
        self.lock = threading.Lock()
        self.generation = Generation(None, {})
        self.tally = (
            Tally(count, lambda: list(self.generation.loaded.values()))
            if count is not None
            else None
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and path.startswith(PREFIXES):
            found = self.lookup(path)
            if found is not None:
                encoding = found.encoding_for(environ.get("HTTP_ACCEPT_ENCODING", ""))
                if found.fresh(environ):
                    start_response("304 Not Modified", found.not_modified[encoding])
                    found.answered[1 if method == "GET" else 3] += 1
                    return []
                start_response("200 OK", found.headers[encoding])
                found.answered[0 if method == "GET" else 2] += 1
                return [] if method == "HEAD" else [found.bodies[encoding]]
        return self.app(environ, start_response)

    def lookup(self, path: str) -> Prepared | None:
        try:
            st = os.stat(self.manifest)
        except OSError:
            return None
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        generation = self.generation
        if generation.seen != seen:
            generation = self._reload(seen)
        found = generation.loaded.get(path)
        if found is None and path in generation.entries:
            found = self._load(generation, path)
        return found

    def _reload(self, seen: tuple[int, int, int]) -> Generation:
        with self.lock:
            if self.generation.seen == seen:
                return self.generation
            try:
                generation = Generation(seen, json.loads(self.manifest.read_bytes()))
            except (OSError, ValueError):
                generation = Generation(None, {})
            self.generation = generation
            return generation

    def _load(self, generation: Generation, path: str) -> Prepared | None:
        """Read a URL's files. One replaced while it was read (its digest or a copy's content
        does not match the manifest) is left to Django until the next manifest."""
        entry = generation.entries[path]
        try:
            body = (self.root / entry["file"]).read_bytes()
            if hashlib.blake2b(body, digest_size=12).hexdigest() != entry["sha"]:
                return None
            bodies = {"identity": body}
            for name in entry["encodings"]:
                data = (self.root / (entry["file"] + ENCODINGS[name])).read_bytes()
                if DECODERS[name](data) != body:
                    return None
                bodies[name] = data
        except (OSError, ValueError, brotli.error):
            return None
        found = Prepared(bodies, entry, generation.modified, self.common, _route(path))
        generation.loaded[path] = found
        if self.tally is not None:
            self.tally.watch(found)
        return found


def _route(path: str) -> str:
    """The name Django gives the URL's pattern, so an answer is counted under the same route
    whichever of the two answered it."""
    from django.urls import Resolver404, resolve  # lazy: wsgi.py imports this before setup

    try:
        return resolve(path).view_name or "prepared"
    except Resolver404:
        return "prepared"


def common_headers() -> list[tuple[str, str]]:
    """The caching and security headers every prepared answer carries: those Django's
    middleware and the status page's views set on a public page."""
    from csp.utils import build_policy
    from django.conf import settings

    max_age = int(getattr(settings, "STATUSPAGE_MAX_AGE", 0))
    headers = [
        ("Cache-Control", f"public, max-age={max_age}" if max_age else "public, no-cache"),
        ("Vary", "Accept-Encoding"),
        ("Content-Security-Policy", build_policy()),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
        ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    return [(name, str(value)) for name, value in headers if value]


def wrap(app: WSGIApp, count: Count | None = None) -> WSGIApp:
    """The application `serve` runs: the prepared front before Django, its answers counted
    with `count`. Where Django must redirect to https first, every request goes to Django."""
    from django.conf import settings  # lazy: wsgi.py imports this module before django.setup()

    from .prepared import public_dir  # lazy: it reads models, ready only after django.setup()

    if settings.SECURE_SSL_REDIRECT or not getattr(settings, "STATUSPAGE_PREPARE", True):
        return app
    return PreparedFront(app, public_dir(), common_headers(), count)
