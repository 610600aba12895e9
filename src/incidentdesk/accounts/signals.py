"""The audit log hears of a login lockout from django-axes (connected in `AccountsConfig.ready`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .services import login_lockout_record


def lockout_audited(sender: Any, request: Any, username: str, ip_address: str, **_: Any) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    # django-axes signals every refused attempt while locked (each one also restarts the
    # cool-off): the log records the lock once, when it starts.
    if failures == settings.AXES_FAILURE_LIMIT:
        login_lockout_record(email=username, address=ip_address, failures=failures)
