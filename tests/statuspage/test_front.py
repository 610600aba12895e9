"""The prepared public front: rendered by the export's own code into files with gzip and
brotli copies, kept up to date when a change commits, and answered before Django with the
right validators, encodings and security headers."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import threading
from email.utils import format_datetime
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import brotli
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, override_settings

from incidentdesk.core import clock
from incidentdesk.incidents.services import incident_post_update
from incidentdesk.statuspage import export, front, prepared, services

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def root(tmp_path):
    with override_settings(STATUSPAGE_PUBLIC_DIR=tmp_path / "public"):
        yield tmp_path / "public"


def wsgi_get(app, path: str, method: str = "GET", **headers: str):
    """One request through the WSGI application, as granian calls it: (status, headers, body)."""
    url, _, query = path.partition("?")
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": url, "QUERY_STRING": query}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    environ["wsgi.input"] = io.BytesIO(b"")
    setup_testing_defaults(environ)
    seen: dict = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in response_headers}

    # as Django's test client does: the test's own connection stays open across requests
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], body


@pytest.fixture
def app(root):
    return front.PreparedFront(WSGIHandler(), root, front.common_headers())


def test_the_front_holds_the_export_s_bytes_with_compressed_copies(root, tmp_path, published):
    with clock.frozen(NOW):
        assert prepared.prepare() is True
        written = export.export(tmp_path / "site")
    manifest = prepared.read_manifest()
    assert manifest is not None
    urls = set(manifest["files"])
    assert {
        "/status/",
        "/status/history/",
        f"/status/incidents/{published.publication.pk}/",
        "/status/history.atom",
        "/status/history.rss",
        "/status/maintenance.ics",
        "/status/badge.svg",
        "/api/v2/summary.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
    } <= urls
    for url, entry in manifest["files"].items():
        body = (root / entry["file"]).read_bytes()
        # one render path: the export wrote the very same bytes at the same place
        assert entry["file"] in written, url
        assert body == (tmp_path / "site" / entry["file"]).read_bytes(), url
        if len(body) > 1000:
            assert entry["encodings"] == ["br", "gzip"], url
        if "gzip" in entry["encodings"]:
            assert gzip.decompress((root / (entry["file"] + ".gz")).read_bytes()) == body
        if "br" in entry["encodings"]:
            assert brotli.decompress((root / (entry["file"] + ".br")).read_bytes()) == body
    assert b"A database node is overloaded." in (root / "status/index.html").read_bytes()
    # the same version and day: nothing to do; a new day moves the uptime bars on
    with clock.frozen(NOW):
        assert prepared.prepare() is False
    with clock.frozen(NOW + dt.timedelta(days=1)):
        assert prepared.prepare() is True


def test_the_front_answers_before_django_with_validators(app, root, published):
    now = clock.now()
    with clock.frozen(now):
        prepared.prepare()
    status, headers, body = wsgi_get(app, "/status/")
    assert status == 200
    assert b"Slow API responses" in body
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-length"] == str(len(body))
    assert headers["cache-control"] == "public, no-cache"
    assert headers["vary"] == "Accept-Encoding"
    manifest = prepared.read_manifest()
    assert manifest is not None
    assert headers["last-modified"] == manifest["modified"]
    etag = headers["etag"]
    # the security headers Django's middleware puts on the same page
    with clock.frozen(now):
        django = Client().get("/status/")
    for name in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
    ):
        assert headers[name.lower()] == django[name], name
    assert django.content == body

    status, gz_headers, gz_body = wsgi_get(app, "/status/", accept_encoding="gzip, deflate")
    assert gz_headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz_body) == body
    assert gz_headers["etag"] != etag
    status, br_headers, br_body = wsgi_get(app, "/status/", accept_encoding="gzip, deflate, br")
    assert br_headers["content-encoding"] == "br"
    assert brotli.decompress(br_body) == body

    for tag in (etag, gz_headers["etag"], f"W/{br_headers['etag']}", f'"other", {etag}'):
        status, nm_headers, nm_body = wsgi_get(app, "/status/", if_none_match=tag)
        assert (status, nm_body) == (304, b""), tag
        assert nm_headers["etag"] == etag
    assert wsgi_get(app, "/status/", if_none_match='"other"')[0] == 200
    later = format_datetime(clock.now() + dt.timedelta(minutes=1), usegmt=True)
    assert wsgi_get(app, "/status/", if_modified_since=later)[0] == 304
    earlier = "Thu, 01 Jan 2015 00:00:00 GMT"
    assert wsgi_get(app, "/status/", if_modified_since=earlier)[0] == 200

    status, head_headers, head_body = wsgi_get(app, "/status/", method="HEAD")
    assert (status, head_body, head_headers["content-length"]) == (200, b"", str(len(body)))


def test_a_query_string_changes_nothing(app, published):
    prepared.prepare()
    plain = wsgi_get(app, "/api/v2/summary.json")
    for query in ("?x=8f3a1c", "?page=2", "?callback=alert"):
        assert wsgi_get(app, "/api/v2/summary.json" + query) == plain, query
    status, headers, body = plain
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["incidents"][0]["name"] == "Slow API responses"


def test_what_the_front_does_not_hold_goes_to_django(app, published):
    prepared.prepare()
    status, headers, body = wsgi_get(app, "/api/v2/summary.json", method="POST")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert json.loads(body)["detail"] == "POST is not allowed here; use GET, HEAD."
    status, _, body = wsgi_get(app, "/status/subscribe/")
    assert status == 200
    assert b"csrfmiddlewaretoken" in body
    status, _, _ = wsgi_get(app, "/status/incidents/999999/")
    assert status == 404
    status, _, body = wsgi_get(app, "/healthz")
    assert status == 200


def test_without_a_prepared_front_django_answers(app, published):
    status, headers, body = wsgi_get(app, "/status/")
    assert status == 200
    assert b"Slow API responses" in body
    assert headers["etag"].startswith('"sp')  # the view cache's tag: Django answered


def test_a_file_replaced_while_read_is_left_to_django(app, root, published):
    prepared.prepare()
    manifest = prepared.read_manifest()
    assert manifest is not None
    (root / "status/index.html").write_bytes(b"<p>half written</p>")
    status, headers, body = wsgi_get(app, "/status/")
    assert status == 200
    assert b"Slow API responses" in body
    assert headers["etag"].startswith('"sp')


def test_a_committed_change_is_in_the_front_when_its_call_returns(
    app, published, member, django_capture_on_commit_callbacks
):
    prepared.prepare()
    before = wsgi_get(app, "/status/")
    with django_capture_on_commit_callbacks(execute=True):
        incident_post_update(
            by=member, incident=published.ref, status="monitoring", body="A fix is rolled out."
        )
    status, headers, body = wsgi_get(app, "/status/")
    assert status == 200
    assert b"A fix is rolled out." in body
    assert headers["etag"] != before[1]["etag"]
    summary = json.loads(wsgi_get(app, "/api/v2/summary.json")[2])
    assert summary["incidents"][0]["status"] == "monitoring"
    # the client holding the old copy is sent the new one
    assert wsgi_get(app, "/status/", if_none_match=before[1]["etag"])[0] == 200


def test_an_unpublished_incident_leaves_the_front(
    app, root, published, member, django_capture_on_commit_callbacks
):
    prepared.prepare()
    permalink = f"/status/incidents/{published.publication.pk}/"
    assert wsgi_get(app, permalink)[0] == 200
    assert (root / permalink.strip("/") / "index.html").is_file()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_unpublish(by=member, incident=published.ref)
    assert not (root / permalink.strip("/") / "index.html").exists()
    assert not (root / permalink.strip("/") / "index.html.gz").exists()
    assert wsgi_get(app, permalink)[0] == 404
    assert b"Slow API responses" not in wsgi_get(app, "/status/")[2]
    for path in Path(root).rglob("*"):
        if path.is_file() and path.suffix not in (".gz", ".br"):
            assert b"Slow API responses" not in path.read_bytes(), path


def test_no_front_is_kept_where_none_was_prepared(root, published, member):
    assert prepared.refresh() is False
    assert not root.exists()


def test_switched_off_django_serves_everything(root, published):
    with override_settings(STATUSPAGE_PREPARE=False):
        app = WSGIHandler()
        assert front.wrap(app) is app
        assert prepared.refresh() is False


def test_the_periodic_check_catches_a_change_made_elsewhere(root, published, member):
    from incidentdesk.statuspage.tasks import refresh_public_front

    prepared.prepare()
    assert refresh_public_front.call() is False
    # no commit inside the test's transaction: for this machine's front, as if another
    # machine's web process had made the change
    services.incident_unpublish(by=member, incident=published.ref)
    assert b"Slow API responses" in (root / "status/index.html").read_bytes()
    assert refresh_public_front.call() is True
    assert b"Slow API responses" not in (root / "status/index.html").read_bytes()
    with clock.frozen(clock.now() + dt.timedelta(days=1)):
        assert refresh_public_front.call() is True
        manifest = prepared.read_manifest()
        assert manifest is not None
        assert manifest["date"] == clock.now().date().isoformat()


def test_the_front_s_answers_are_counted_for_metrics_under_django_s_route(root, published):
    from prometheus_client import REGISTRY

    from incidentdesk.monitoring.metrics import count_requests

    def answered(status: str) -> float:
        labels = {"route": "statuspage:page", "method": "GET", "status": status}
        return REGISTRY.get_sample_value("incidentdesk_http_requests_total", labels) or 0.0

    assert prepared.prepare() is True
    app = front.PreparedFront(WSGIHandler(), root, front.common_headers(), count_requests)
    before = answered("200"), answered("304")
    tag = ""
    for _ in range(3):
        status, headers, _ = wsgi_get(app, "/status/?utm_source=mail")
        assert status == 200
        tag = headers["etag"]
    assert wsgi_get(app, "/status/", if_none_match=tag)[0] == 304
    # handed over by the front's own thread within a second, with no further request
    for _ in range(50):
        if answered("304") > before[1]:
            break
        threading.Event().wait(0.1)
    assert (answered("200") - before[0], answered("304") - before[1]) == (3, 1)
    assert Client().get("/status/").status_code == 200  # Django counts the same route
    assert answered("200") - before[0] == 4
