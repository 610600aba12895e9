from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

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
