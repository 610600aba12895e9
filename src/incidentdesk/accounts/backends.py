"""Login throttling: django-axes' check in front of Django's own password check."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its account and address are locked out.

    Only a login over HTTP has an address to throttle; a login without a request (a shell, a
    test client's `login()`) passes on to the password check unthrottled, where django-axes
    alone would raise."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The account a login attempt is for, as the lockout counts it: the e-mail address the
    login form sends as `username`, in lower case (accounts are stored so)."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = request.POST.get("username")
    return str(value or "").strip().lower()
