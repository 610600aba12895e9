"""PagerDuty's `POST /v2/enqueue`, answered by the served application before Django's
middleware: the alert intake's fast path.

Monitoring sends alert events in bursts (a storm, a flapping check, Alertmanager's groups
re-notifying), and an event needs none of what the middleware does for a person's page
(session, sign-in, CSRF, second factor, messages, content security policy). Here a request:

1. reads its body (at most DATA_UPLOAD_MAX_MEMORY_SIZE, else PagerDuty's 400 "too large",
   after reading the rest of the body, up to 64 MiB, so that the sender reads the answer);
2. parses and checks it exactly as the view does (`views.event_of`), so a bad event gets the
   same 400 and writes nothing;
3. finds its integration in this process's cache of routing keys (by SHA-256; a miss asks the
   database, and an unknown key is never cached, so a new key works at once);
4. hands the event to the process's group commit and waits for it: one thread applies every
   event that arrived meanwhile in one transaction (`alerts_receive_batch`), which also reads
   whether each integration is still active, so a key revoked in any process is refused from
   the next transaction on, and answers 202 only once its event is stored, deduplicated and
   on its incident.

Every other request, and everything when the front is not wrapped (Django's test client, a
WSGI server pointed at Django itself), goes through `views.enqueue`, whose answers are the
same. Each answer is counted for /metrics and logged as the request observer does."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from incidentdesk.core.bodies import DRAIN_MAX, drain
from incidentdesk.core.logs import current_request_id

from . import pagerduty
from .models import Integration
from .services import AlertEvent, Outcome, alerts_receive_batch, integration_for_key
from .services.integrations import routing_key_digest
from .views import TOO_LARGE, event_of

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Observe = Callable[[str, str, int, float], None]

PATH = "/v2/enqueue"
ROUTE = "events:enqueue"
# a batch that could not be stored is answered 503 after this long at the latest
WAIT_SECONDS = 60.0
# routing keys remembered per process; past this the cache starts again
CACHE_SIZE = 1000
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
STATUS_LINES = {202: "202 Accepted", 400: "400 Bad Request", 503: "503 Service Unavailable"}

log = logging.getLogger("incidentdesk.requests")
failures = logging.getLogger("incidentdesk.ingest")


class KeyCache:
    """Active integrations by the SHA-256 of their routing key, for this process."""

    def __init__(self) -> None:
        self.found: dict[str, Integration] = {}

    def lookup(self, raw: str) -> Integration | None:
        digest = routing_key_digest(raw)
        integration = self.found.get(digest)
        if integration is None:
            integration = integration_for_key(raw)
            if integration is not None:
                if len(self.found) >= CACHE_SIZE:
                    self.found = {}
                self.found[digest] = integration
        return integration

    def forget(self, integration: Integration) -> None:
        self.found.pop(integration.digest, None)


class Pending:
    __slots__ = ("done", "event", "integration", "result")

    def __init__(self, integration: Integration, event: AlertEvent) -> None:
        self.integration = integration
        self.event = event
        self.done = False
        self.result: Outcome | list[str] | None = None


class GroupCommit:
    """Group commit among a process's request threads: a request whose event finds no
    transaction under way leads one, writing every event waiting then; the others wait for
    it, and one whose event came too late for it leads the next. Each request answers once
    its own event is stored (or refused)."""

    def __init__(self, keys: KeyCache) -> None:
        self.keys = keys
        self.turn = threading.Condition(threading.Lock())
        self.waiting: list[Pending] = []
        self.leading = False

    def submit(self, pending: Pending) -> Outcome | list[str] | None:
        deadline = time.monotonic() + WAIT_SECONDS
        with self.turn:
            self.waiting.append(pending)
            while self.leading and not pending.done:
                timed_out = not self.turn.wait(max(0.05, deadline - time.monotonic()))
                if timed_out and pending in self.waiting:
                    # never written: answered 503, its sender sends it again
                    self.waiting.remove(pending)
                    return None
            if pending.done:
                return pending.result
            self.leading = True
            batch, self.waiting = self.waiting, []
        try:
            self._apply(batch)
        finally:
            with self.turn:
                for each in batch:
                    each.done = True
                self.leading = False
                self.turn.notify_all()
        return pending.result

    def _apply(self, batch: list[Pending]) -> None:
        close_old_connections()
        try:
            results = alerts_receive_batch([(p.integration, p.event) for p in batch])
        except Exception:
            # the batch was rolled back: each event again on its own, so one that cannot be
            # stored fails alone (its sender gets a 503 and sends it again)
            failures.exception("A batch of %d alert events failed; applying each alone", len(batch))
            results = []
            for pending in batch:
                try:
                    results.extend(alerts_receive_batch([(pending.integration, pending.event)]))
                except Exception:
                    failures.exception("An alert event could not be stored")
                    close_old_connections()
                    results.append(None)  # type: ignore[arg-type]
        for pending, result in zip(batch, results, strict=True):
            pending.result = result
            if isinstance(result, list):
                self.keys.forget(pending.integration)


class IngestFront:
    def __init__(self, app: WSGIApp, observe: Observe | None = None) -> None:
        self.app = app
        self.observe = observe
        self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        self.keys = KeyCache()
        self.commit = GroupCommit(self.keys)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ["REQUEST_METHOD"] != "POST"
            or environ.get("PATH_INFO") != PATH
            or self._redirected(environ)
        ):
            return self.app(environ, start_response)
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        try:
            status, answer = self._answer(environ)
            body = json.dumps(answer).encode()
            seconds = time.perf_counter() - started
            if self.observe is not None:
                self.observe(ROUTE, "POST", status, seconds)
            log.info(
                "POST %s %s %.1f ms",
                PATH,
                status,
                seconds * 1000,
                extra={
                    "method": "POST",
                    "path": PATH,
                    "route": ROUTE,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
        finally:
            current_request_id.reset(token)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-ID", request_id),
        ]
        if status == 503:
            headers.append(("Retry-After", "1"))
        start_response(STATUS_LINES[status], headers)
        return [body]

    def _redirected(self, environ: dict[str, Any]) -> bool:
        """Whether Django would send this request to https first (SECURE_SSL_REDIRECT): then
        Django answers it, as it would any page."""
        if not settings.SECURE_SSL_REDIRECT:
            return False
        proxy = settings.SECURE_PROXY_SSL_HEADER
        if proxy:
            name, value = proxy
            given = str(environ.get(name, ""))
            return given.split(",", 1)[0].strip() != value
        return environ.get("wsgi.url_scheme") != "https"

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw = self._body(environ)
        if raw is None:
            return 400, _invalid([TOO_LARGE])
        integration, event, errors = event_of(
            raw, environ.get("HTTP_X_ROUTING_KEY"), pagerduty.alert_event, self.keys.lookup
        )
        if errors or integration is None or event is None:
            return 400, _invalid(errors)
        result = self.commit.submit(Pending(integration, event))
        if result is None:
            return 503, {
                "status": "unavailable",
                "message": "The event was not stored; send it again.",
                "errors": [],
            }
        if isinstance(result, list):
            return 400, _invalid(result)
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": result.dedup_key,
        }

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """The body, or None when it is over the limit (not read past it)."""
        stream = environ["wsgi.input"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if length > self.limit:
            drain(stream, length)
            return None
        raw: bytes = stream.read(length) if length >= 0 else stream.read(self.limit + 1)
        if len(raw) > self.limit:
            drain(stream, DRAIN_MAX)
            return None
        return raw


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def wrap(app: WSGIApp, observe: Observe | None = None) -> WSGIApp:
    """The application `serve` runs: alert events before everything else."""
    return IngestFront(app, observe)
