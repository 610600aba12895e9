"""The intake's front leaves to Django what Django must answer first: a plain-http event
where Django redirects to https, and every other path or method."""

from __future__ import annotations

import io

from incidentdesk.ingest.front import IngestFront


def environ(method: str = "POST", path: str = "/v2/enqueue", **extra: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
        "wsgi.url_scheme": "http",
        **extra,
    }


def downstream(environ, start_response):
    start_response("418 I'm a teapot", [])
    return [b"django"]


def answer(front: IngestFront, env: dict) -> tuple[str, bytes]:
    got: list[str] = []
    body = b"".join(front(env, lambda status, headers: got.append(status)))
    return got[0], body


def test_django_answers_what_it_must_redirect_and_other_requests(settings, db):
    front = IngestFront(downstream)
    assert answer(front, environ(method="GET")) == ("418 I'm a teapot", b"django")
    assert answer(front, environ(path="/v2/change/enqueue"))[1] == b"django"
    status, body = answer(front, environ())
    assert status == "400 Bad Request" and b"routing_key" in body

    settings.SECURE_SSL_REDIRECT = True
    assert answer(front, environ())[1] == b"django"
    assert answer(front, environ(**{"wsgi.url_scheme": "https"}))[0] == "400 Bad Request"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert answer(front, environ(**{"wsgi.url_scheme": "https"}))[1] == b"django"
    forwarded = environ(HTTP_X_FORWARDED_PROTO="https")
    assert answer(front, forwarded)[0] == "400 Bad Request"
