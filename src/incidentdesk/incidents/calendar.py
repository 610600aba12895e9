"""Days of the incident's own clocks that count in business days or local dates: when the
review a finished incident's severity requires falls due."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from incidentdesk.policy.schema import Policy

from .models import Incident


def add_business_days(start: dt.date, days: int) -> dt.date:
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def local_date(at: dt.datetime) -> dt.date:
    return timezone.localtime(at).date()


def review_check_day(incident: Incident, policy: Policy) -> dt.date | None:
    """The day after a finished incident's required review falls due: the day the review-due
    check first looks at it. None when its severity requires no review or it is not resolved."""
    severity = policy.severities.get(incident.severity) if incident.severity else None
    if incident.resolved_at is None or severity is None or not severity.review_required:
        return None
    due = add_business_days(local_date(incident.resolved_at), severity.review_due_business_days)
    return due + dt.timedelta(days=1)
