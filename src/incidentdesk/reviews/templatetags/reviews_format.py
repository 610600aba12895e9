from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat, timezone

from incidentdesk.reviews.charts import percent_text

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return percent_text(value)


@register.filter
def signed(value: int) -> str:
    return f"{value:+d}"


@register.filter
def when(value: str | None) -> str:
    """An ISO timestamp as the pages show times ("6 Mar 2026 10:05")."""
    if not value:
        return "–"
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return dateformat.format(timezone.localtime(at), "j M Y H:i")
