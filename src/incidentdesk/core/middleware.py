"""The outermost middleware: refuses requests no page can answer, and keeps every error under
/api/ in the API's JSON error shape, whichever part of Django produced it."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase

from . import text
from .bodies import drain

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, detail: str, errors: dict[str, str] | None = None) -> HttpResponse:
    """The API's error shape; `errors` maps each field to its problem."""
    listed = [{"field": f, "message": m} for f, m in (errors or {}).items()]
    return HttpResponse(
        json.dumps({"detail": detail, "errors": listed}),
        status=status,
        content_type="application/json",
    )


class RequestGuard:
    """Refuses, before any view runs, what would otherwise fail deep inside one:

    - a path holding a NUL (PostgreSQL cannot compare text with it): 400; a query string
      holding one: 400 on a page, 422 naming the parameter under /api/;
    - under /api/, a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 (file uploads, which Django
      streams to disk, are limited by the attachment settings instead).

    Every other error answer under /api/ that is not JSON (Django's 404 and 405, a 400 of the
    request parser, a 500) is rewritten into `{"detail": ..., "errors": [...]}` with its status
    kept. The CSRF failure page has its own view (`core.views.csrf_failure`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        api = is_api(request)
        refused = self._refuse(request, api)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if api and response.status_code >= 400 and not _is_json(response):
            return _as_json(request, response)
        return response

    def _refuse(self, request: HttpRequest, api: bool) -> HttpResponse | None:
        if text.problem(request.path):
            detail = "The address holds a character that is not text (such as NUL)."
            return json_error(400, detail) if api else HttpResponseBadRequest(detail)
        errors = {
            key: found
            for key, values in request.GET.lists()
            for found in map(text.problem, (key, *values))
            if found
        }
        if errors and api:
            return json_error(422, "Invalid input.", errors)
        if errors:
            return HttpResponseBadRequest("The query string holds a character that is not text.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if api and limit is not None and not (request.content_type or "").startswith("multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                # read what the sender is still sending, so that it reads this answer
                stream = request.META.get("wsgi.input")
                if stream is not None:
                    drain(stream, length)
                return json_error(413, f"The request body is larger than {limit} bytes.")
        return None


def _is_json(response: HttpResponseBase) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def _as_json(request: HttpRequest, response: HttpResponseBase) -> HttpResponse:
    status = response.status_code
    if status == 404:
        detail = f"Nothing here: {request.path}."
    elif status == 405:
        allowed = response.get("Allow", "")
        detail = f"{request.method} is not allowed here" + (
            f"; allowed: {allowed}." if allowed else "."
        )
    elif status >= 500:
        detail = "Something went wrong on the server; it was logged."
    else:
        try:
            detail = HTTPStatus(status).phrase + "."
        except ValueError:
            detail = "The request was refused."
    rewritten = json_error(status, detail)
    for header in ("Allow", "WWW-Authenticate", "Retry-After", "Access-Control-Allow-Origin"):
        if header in response:
            rewritten[header] = response[header]
    return rewritten
