from __future__ import annotations

import functools
from collections.abc import Iterable

from django import template
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from incidentdesk.incidents.templatetags.incidentdesk import DAY_FORMAT
from incidentdesk.statuspage.models import ComponentStatus
from incidentdesk.statuspage.selectors import Day

register = template.Library()
LABELS = dict(ComponentStatus.choices)


@register.filter
def status_label(value: str) -> str:
    """A component status as people read it: "partial_outage" -> "Partial outage"."""
    return str(LABELS.get(value, value.replace("_", " ").capitalize()))


BAR = (
    '<li class="sp-day sp-s-{status}{unknown}" tabindex="0" aria-label="{date}: {label}{outage}">'
    '<span class="sp-tip" aria-hidden="true"><strong>{date}</strong><br>{tip}</span></li>'
    "\n        "
)


@register.filter
def uptime_bars(days: Iterable[Day]) -> SafeString:
    """`{{ view.days|uptime_bars }}`: a component's daily bars, each with its tip. The page
    shows 90 a component and is rendered after every change, so the bars are made here rather
    than by a template loop of nine tags a bar; a day alike on several components is made
    once."""
    language = get_language()
    return mark_safe("".join(_bar(day, language) for day in days))


@functools.lru_cache(maxsize=2048)
def _bar(day: Day, language: str | None) -> str:
    """One day's bar in `language` (the date's words are the active language's)."""
    label = escape(status_label(day.status).lower()) if day.known else "no data"
    minutes = day.outage_minutes
    outage = f", {minutes} minute{'' if minutes == 1 else 's'} of outage" if minutes else ""
    if not day.known:
        tip = "No data"
    elif day.status == ComponentStatus.OPERATIONAL:
        tip = "No incidents"
    else:
        tip = "".join(
            f"{name} {value} min{end}"
            for name, value, end in (
                ("Major outage", day.major_minutes, "<br>"),
                ("Partial outage", day.partial_minutes, "<br>"),
                ("Degraded", day.degraded_minutes, "<br>"),
                ("Maintenance", day.maintenance_minutes, ""),
            )
            if value
        )
    return BAR.format(
        status=escape(day.status),
        unknown="" if day.known else " sp-unknown",
        date=escape(date_format(day.date, DAY_FORMAT)),
        label=label,
        outage=outage,
        tip=tip,
    )
