"""The audit log hears of a login lockout from django-axes."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver

from .services import login_lockout_record


@receiver(user_locked_out, dispatch_uid="incidentdesk.accounts.lockout_audit")
def _lockout_audited(sender: Any, request: Any, username: str, ip_address: str, **_: Any) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    # django-axes signals every refused attempt while locked (each one also restarts the
    # cool-off): the log records the lock once, when it starts.
    if failures == settings.AXES_FAILURE_LIMIT:
        login_lockout_record(email=username, address=ip_address, failures=failures)
