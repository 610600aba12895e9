from __future__ import annotations

from django import template

from incidentdesk.statuspage.models import ComponentStatus

register = template.Library()
LABELS = dict(ComponentStatus.choices)


@register.filter
def status_label(value: str) -> str:
    """A component status as people read it: "partial_outage" -> "Partial outage"."""
    return str(LABELS.get(value, value.replace("_", " ").capitalize()))
