from __future__ import annotations

import datetime as dt

from django import template

from incidentdesk.incidents.templatetags.incidentdesk import when as core_when
from incidentdesk.reviews.charts import percent_text

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return percent_text(value)


@register.filter
def signed(value: int) -> str:
    return f"{value:+d}"


@register.filter
def when(value: dt.datetime | dt.date | str | None) -> str:
    """A moment as every page writes it ("6 Mar 2026 10:05 UTC"); a dash when there is none."""
    return core_when(value) or "–"
