"""The status page's response cache for what Django still serves: one entry per normalised
request, one render per entry under concurrency, least recently used entries leaving one by
one."""

from __future__ import annotations

import threading

import pytest
from django.test import Client, RequestFactory, override_settings

from incidentdesk.statuspage import cache, public

pytestmark = pytest.mark.django_db


def test_unknown_query_parameters_hit_the_same_entry(published, django_assert_max_num_queries):
    client = Client()
    first = client.get(f"/status/incidents/{published.publication.pk}/")
    assert first.status_code == 200
    assert b"Slow API responses" in first.content
    # the page's version is read at most once a second: no render, no other query
    for query in ("?x=5d41402abc", "?utm_source=mail&x=2", "?page=7"):
        with django_assert_max_num_queries(1):
            again = client.get(f"/status/incidents/{published.publication.pk}/{query}")
        assert again.content == first.content, query
        assert again["ETag"] == first["ETag"]


class Renders:
    """A renderer that counts its calls and can hold them until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, request):
        with self.lock:
            self.calls.append(request.path)
        self.started.set()
        assert self.release.wait(10), "the render was never released"
        return f"<p>{request.path}</p>".encode(), public.HTML


@pytest.fixture
def view(published):
    """A cached view over `Renders`, with the page's version read up front and trusted for a
    minute, so that the threads below never touch the test's database connection."""
    with override_settings(STATUSPAGE_VERSION_TTL=60):
        cache.clear()
        cache._state()
        renders = Renders()
        yield cache.cached()(renders), renders


def _get(view, path: str) -> bytes:
    return view(RequestFactory().get(path)).content


def test_a_surge_on_one_key_renders_it_once(view):
    cached, renders = view
    renders.release.clear()
    bodies: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: bodies.append(_get(cached, "/status/x/")))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    assert renders.started.wait(10)
    renders.release.set()
    for thread in threads:
        thread.join(10)
    assert renders.calls == ["/status/x/"]
    assert bodies == [b"<p>/status/x/</p>"] * 16


def test_a_slow_render_does_not_hold_up_other_keys(view):
    cached, renders = view
    renders.release.clear()
    slow = threading.Thread(target=_get, args=(cached, "/status/slow/"))
    slow.start()
    assert renders.started.wait(10)
    # with one lock for every render this would wait for the slow one
    other = Renders()
    other_view = cache.cached()(other)
    assert _get(other_view, "/status/quick/") == b"<p>/status/quick/</p>"
    renders.release.set()
    slow.join(10)
    assert renders.calls == ["/status/slow/"]


def test_the_least_recently_used_entry_leaves_first(view, monkeypatch):
    cached, renders = view
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for path in ("/status/a/", "/status/b/", "/status/c/"):
        _get(cached, path)
    _get(cached, "/status/a/")  # a is now the most recently used
    _get(cached, "/status/d/")  # the store is full: b, the least recently used, leaves
    assert renders.calls == ["/status/a/", "/status/b/", "/status/c/", "/status/d/"]
    for path in ("/status/a/", "/status/c/", "/status/d/"):
        _get(cached, path)
    assert len(renders.calls) == 4
    _get(cached, "/status/b/")
    assert renders.calls[-1] == "/status/b/"
    assert len(cache._store) == 3


def test_a_declared_parameter_names_its_own_entry(view):
    _, renders = view
    paged = cache.cached(params=["page"])(renders)
    _get(paged, "/status/list/?page=1&x=1")
    _get(paged, "/status/list/?x=2&page=1")
    _get(paged, "/status/list/?page=2")
    assert renders.calls == ["/status/list/", "/status/list/"]
