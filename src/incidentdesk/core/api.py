"""Shared pieces of the JSON API: authentication and the error contract."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from incidentdesk.accounts.models import TokenScope, User
from incidentdesk.accounts.services import token_lookup

from . import text
from .errors import DomainError, FieldError, InvalidInput, PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_lookup(token)
        if found is None:
            return None
        if found.scope == TokenScope.METRICS:
            raise PermissionDenied(f"Token {found.prefix}… only reads /metrics, not the API.")
        if found.scope == TokenScope.READ and request.method not in SAFE_METHODS:
            raise PermissionDenied(
                f"Token {found.prefix}… is read-only: use a read-write token to make changes."
            )
        request.user = found.user
        return found.user


class ActiveSession(SessionAuth):
    def __call__(self, request: HttpRequest) -> Any:
        # The CSRF check guards what a logged-in session may do. A caller without one is
        # unauthenticated (401 with the bearer challenge), not a forgery (403).
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


class ApiDocs(Swagger):
    """Swagger UI at /api/v1/docs from the product's own static files (works offline, under
    the Content-Security-Policy), never from a CDN."""

    template = "api/docs.html"

    def __init__(self) -> None:
        # validatorUrl None: no badge fetched from swagger.io
        super().__init__(settings={"validatorUrl": None})

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        context = {
            "swagger_settings": {**self.settings, "url": self.get_openapi_url(api, kwargs)},
            "api": api,
            "add_csrf": True,
        }
        return render(request, self.template, context)


def actor(request: HttpRequest) -> User:
    """The authenticated user of an API request (token or session)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise AuthenticationError()
    return user


def _utc_instant(value: dt.datetime) -> dt.datetime:
    if value.utcoffset() is None:
        raise PydanticCustomError(
            "utc_offset", "Give the time with its UTC offset, e.g. 2026-03-02T09:00:00Z."
        )
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise PydanticCustomError("time_range", "The time is out of range.") from None


Instant = Annotated[dt.datetime, AfterValidator(_utc_instant)]
"""A point in time an API client sends: it must carry its UTC offset, and is kept in UTC.

A naive time cannot be compared with the server's clock, and PostgreSQL refuses offsets past
±15:59, which ISO 8601 (and so pydantic) allows."""


def _text_problems(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        found = text.problem(value)
        if found:
            yield ".".join(path), found
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _text_problems(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_problems(key, path)
            yield from _text_problems(item, (*path, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _text_problems(item, (*path, str(index)))
    elif isinstance(value, UploadedFile):
        yield from _text_problems(value.name or "", path)


def reject_unsafe_text(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (422) any validated input holding text that is not Unicode (a lone surrogate)
    or holds a NUL, wherever it sits: query parameters, path parameters, nested fields.

    The schemas' `Line` and `Text` types scrub the fields they name; this covers the rest,
    which would otherwise reach the database (a 500 there) or a page that cannot encode it."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        found = {
            field or "body": message
            for name, value in kwargs.items()
            for field, message in _text_problems(
                value, () if isinstance(value, BaseModel) else (name,)
            )
        }
        if found:
            errors = [FieldError(f, found[f]) for f in sorted(found)]
            raise InvalidInput(errors[0].message, errors)
        return view(request, *args, **kwargs)

    return wrapper


def error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def _field(loc: list[Any]) -> str:
    parts = [str(p) for p in loc]
    while parts and parts[0] in {"body", "payload", "query", "path", "filters"}:
        parts.pop(0)
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status_code)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"field": _field(e.get("loc", [])), "message": e.get("msg", "invalid")}
            for e in exc.errors
        ]
        return api.create_response(request, error_body("Invalid input.", errors), status=422)

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request,
            error_body("Authentication required: send a bearer token or log in."),
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, error_body(str(exc)), status=exc.status_code)
