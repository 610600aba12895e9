from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

from incidentdesk.core import clock
from incidentdesk.core.markdown import render_markdown
from incidentdesk.incidents import kinds, lifecycle
from incidentdesk.policy.schema import duration_in_words

register = template.Library()

# One way to write a moment on every page: "3 Dec 2026 10:37 UTC", in the site's time zone.
WHEN_FORMAT = "j M Y H:i T"
DAY_FORMAT = "j M Y"


@register.filter
def duration_words(value: dt.timedelta | None) -> str:
    """`{{ delta|duration_words }}`: 5 minutes, 1 hour 30 minutes."""
    return duration_in_words(value) if value is not None else ""


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    """`{{ text|markdown }}`: sanitized HTML from user Markdown."""
    return render_markdown(text)


@register.filter
def when(value: dt.datetime | dt.date | str | None) -> str:
    """`{{ moment|when }}`: the date and time with the time zone; a date alone as a day. An
    ISO text (as stored in JSON) is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, WHEN_FORMAT)
    return date_format(value, DAY_FORMAT)


def _span(delta: dt.timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


@register.filter
def relative(value: dt.datetime | None) -> str:
    """`{{ moment|relative }}`: how far from now, in words ("in 25 min", "2 h 5 min ago",
    "just now"); beside the full `when` where the distance is what matters."""
    if value is None:
        return ""
    delta = value - clock.now()
    if abs(delta) < dt.timedelta(minutes=1):
        return "just now"
    return f"in {_span(delta)}" if delta > dt.timedelta(0) else f"{_span(delta)} ago"


@register.inclusion_tag("core/_moment.html")
def moment(
    value: dt.datetime | None, relative_too: bool = True, live: bool = True
) -> dict[str, object]:
    """`{% moment at %}`: a <time> element with the full date, time and time zone (`when`),
    and how long ago or how soon that is: the one way every page writes a moment. Pages kept
    in a cache (the public status page) pass `live=False`: the distance is then written in
    the reader's browser (relative.js), so it is never stale."""
    return {
        "value": value,
        "iso": value.isoformat() if value else "",
        "when": when(value),
        "relative": relative(value) if relative_too and live and value else "",
        "fill": relative_too and not live,
    }


@register.filter
def incident_status(code: str | None) -> str:
    """An incident's or a public update's status in words."""
    return lifecycle.status_label(code or "")


@register.filter
def kind_label(code: str | None) -> str:
    """A timeline entry's kind in words (incidents.kinds)."""
    return kinds.label(code or "")


@register.filter
def trigger_label(code: str | None) -> str:
    """What caused a notification, in words."""
    return kinds.trigger_label(code or "")


@register.filter
def recipient_label(code: str | None) -> str:
    """Who a notification went to, in words."""
    return kinds.recipient_label(code or "")
