"""Who calls the JSON API: a bearer token or a signed-in session, and `actor` for the routers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from incidentdesk.core.errors import PermissionDenied

from .models import TokenScope, User
from .services import token_lookup

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


def actor(request: HttpRequest) -> User:
    """The authenticated user of an API request (token or session)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise AuthenticationError()
    return user
