from __future__ import annotations

from django import template

from incidentdesk.reviews.charts import percent_text

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return percent_text(value)


@register.filter
def signed(value: int) -> str:
    return f"{value:+d}"
