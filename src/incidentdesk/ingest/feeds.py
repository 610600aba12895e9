"""Each person's shifts as an iCalendar feed (RFC 5545), behind a signed link a calendar
application can subscribe to without logging in."""

from __future__ import annotations

import datetime as dt

from django.core import signing

from incidentdesk.accounts.models import User

from .selectors import Shift

FEED_SALT = "incidentdesk.oncall.feed"


def feed_token(user: User) -> str:
    return signing.Signer(salt=FEED_SALT).sign(str(user.pk))


def feed_user(token: str) -> User | None:
    try:
        pk = signing.Signer(salt=FEED_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=int(pk), is_active=True).first() if pk.isdigit() else None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(user: User, shifts: list[Shift], now: dt.datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//IncidentDesk//On call//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(f'On call: {user.display_name}')}",
    ]
    for shift in shifts:
        uid = f"{shift.schedule.pk}-{_stamp(shift.starts_at)}-{user.pk}@incidentdesk"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(shift.starts_at)}",
            f"DTEND:{_stamp(shift.ends_at)}",
            f"SUMMARY:{_escape(f'On call: {shift.schedule.name}')}",
            f"DESCRIPTION:{_escape(f'From {shift.source} of {shift.schedule.name}')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
