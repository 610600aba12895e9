"""Rendering the public outputs (page, history, permalinks, feeds, iCalendar, badges, JSON)
as bytes. The views serve them through the version cache; the export writes them to files."""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from incidentdesk.core import clock
from incidentdesk.core.text import printable

from . import api_v2, selectors
from .models import Component, ComponentStatus, Maintenance
from .selectors import PublicIncident

HTML = "text/html; charset=utf-8"
JSON = "application/json"
HISTORY_MONTHS_PER_PAGE = 3
FEED_ITEMS = 50

BANNER_CLASS = {"none": "ok", "minor": "minor", "major": "major", "critical": "critical"}
STATUS_LABEL = dict(ComponentStatus.choices)
BADGE_COLOUR = {
    "operational": "#2e7d32",
    "degraded_performance": "#b26a00",
    "partial_outage": "#c25400",
    "major_outage": "#c62828",
    "under_maintenance": "#1565c0",
    "none": "#2e7d32",
    "minor": "#b26a00",
    "major": "#c25400",
    "critical": "#c62828",
}


def _common() -> dict[str, Any]:
    return {"page_name": selectors.page_name(), "now": clock.now()}


def page_html() -> bytes:
    items = selectors.components()
    unresolved = selectors.unresolved_incidents()
    indicator = selectors.overall_indicator(items, unresolved)
    views = selectors.uptime_views(items)
    groups = OrderedDict[str, list[Any]]()
    for component in items:
        groups.setdefault(component.group.name if component.group else "", []).append(
            views[component.pk]
        )
    since = clock.now() - dt.timedelta(days=7)
    recent = [i for i in selectors.incidents_between(since, clock.now()) if not i.unresolved]
    context = {
        **_common(),
        "indicator": indicator,
        "banner_class": BANNER_CLASS[indicator],
        "description": selectors.overall_description(indicator, items),
        "groups": groups.items(),
        "status_label": STATUS_LABEL,
        "unresolved": unresolved,
        "active_maintenances": selectors.active_maintenances(),
        "upcoming": selectors.upcoming_maintenances(),
        "recent": recent,
        "days": selectors.UPTIME_DAYS,
    }
    return render_to_string("statuspage/page.html", context).encode()


def month_start(day: dt.datetime, back: int = 0) -> dt.datetime:
    year, month = day.year, day.month - back
    while month < 1:
        month += 12
        year -= 1
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def history_html(page: int = 1) -> bytes:
    """Incident history by month, newest first, three months a page: a page's cost does not
    grow with the number of past incidents, only with the incidents of its months."""
    now = clock.now()
    first = selectors.first_publication_at()
    months = []
    for n in range(HISTORY_MONTHS_PER_PAGE):
        back = (page - 1) * HISTORY_MONTHS_PER_PAGE + n
        start = month_start(now, back)
        end = month_start(now, back - 1) if back else now + dt.timedelta(seconds=1)
        months.append((start, selectors.incidents_between(start, end)))
    oldest_shown = months[-1][0]
    context = {
        **_common(),
        "months": months,
        "page": page,
        "newer": page - 1 if page > 1 else None,
        "older": page + 1 if first is not None and first < oldest_shown else None,
    }
    return render_to_string("statuspage/history.html", context).encode()


def incident_html(incident: PublicIncident) -> bytes:
    context = {**_common(), "incident": incident, "status_label": STATUS_LABEL}
    return render_to_string("statuspage/incident.html", context).encode()


def maintenance_html(maintenance: Maintenance) -> bytes:
    context = {**_common(), "m": maintenance}
    return render_to_string("statuspage/maintenance.html", context).encode()


def json_bytes(name: str) -> bytes:
    _, changed_at = selectors.page_state()
    doc = api_v2.DOCUMENTS[name](changed_at)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


# -- feeds -----------------------------------------------------------------------------------


def feed_bytes(kind: str) -> tuple[bytes, str]:
    """The history as Atom or RSS. Text passes through `printable`: XML 1.0 cannot carry most
    control characters, and one in a title stored before input was checked would otherwise
    take the feed (and the static export) down."""
    generator_class = Atom1Feed if kind == "atom" else Rss201rev2Feed
    base = settings.BASE_URL
    page_name = printable(selectors.page_name())
    feed = generator_class(
        title=f"{page_name} status - incident history",
        link=base + "/status/",
        description=f"Incidents and their updates on the {page_name} status page.",
        feed_url=base + f"/status/history.{kind}",
        language="en",
    )
    for incident in selectors.recent_incidents(FEED_ITEMS):
        posts = "".join(
            f"<p><strong>{_escape(post.status.capitalize())}</strong> "
            f"({post.created_at:%Y-%m-%d %H:%M} UTC) - {_escape(post.body)}</p>"
            for post in incident.posts
        )
        feed.add_item(
            title=printable(incident.name),
            link=base + incident.permalink,
            description=posts,
            unique_id=base + incident.permalink,
            pubdate=incident.created_at,
            updateddate=incident.updated_at,
        )
    return feed.writeString("utf-8").encode(), f"{feed.content_type}"


def _escape(text: str) -> str:
    from django.utils.html import escape

    return str(escape(printable(text)))


# -- iCalendar -------------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and line breaks escaped;
    no control character or bare CR, which would end or corrupt the content line."""
    value = printable(value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _ics_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def maintenance_ics() -> bytes:
    host = settings.BASE_URL.split("://", 1)[-1].split("/")[0]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//IncidentDesk//Status page//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(selectors.page_name() + ' maintenance')}",
    ]
    stamp = _ics_time(clock.now())
    for m in selectors.maintenances():
        components = ", ".join(c.name for c in m.components.all())
        description = m.body + (f"\n\nAffected: {components}" if components else "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:maintenance-{m.pk}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_time(m.scheduled_for)}",
            f"DTEND:{_ics_time(m.scheduled_until)}",
            f"LAST-MODIFIED:{_ics_time(m.updated_at)}",
            f"SUMMARY:{_ics_text(m.name)}",
            f"DESCRIPTION:{_ics_text(description)}",
            f"URL:{settings.BASE_URL}/status/maintenance/{m.pk}/",
            "STATUS:CONFIRMED",
            f"X-STATUSPAGE-STATUS:{m.status}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_ics_fold(line) for line in lines) + "\r\n").encode()


# -- badges ----------------------------------------------------------------------------------


def badge_svg(component: Component | None = None) -> bytes:
    if component is None:
        items = selectors.components()
        indicator = selectors.overall_indicator(items, selectors.unresolved_incidents())
        label, value = "status", selectors.overall_description(indicator, items).lower()
        colour = BADGE_COLOUR[indicator]
    else:
        # an SVG is XML: a control character stored in a name would make it unreadable
        label, value = printable(component.name), STATUS_LABEL[component.status].lower()
        colour = BADGE_COLOUR[component.status]
    left = 6 * len(label) + 12
    right = 6 * len(value) + 12
    context = {
        "label": label,
        "value": value,
        "colour": colour,
        "left": left,
        "right": right,
        "width": left + right,
        "label_x": left // 2,
        "value_x": left + right // 2,
    }
    return render_to_string("statuspage/badge.svg", context).encode()
