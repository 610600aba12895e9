"""Bounded reads of an incident's timeline: a page of entries after a cursor for the API, the
window the team's incident page shows, the entries new since a poll, and the counts that sum
up the entries the product writes itself. None of them reads more rows than it shows, so one
public update to thousands of recipients costs a page what it cost before it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from incidentdesk.accounts.models import User
from incidentdesk.core.errors import FieldError, InvalidInput

from .kinds import (
    DELIVERY_KINDS,
    KINDS,
    PEOPLE_KINDS,
    SYSTEM_KINDS,
    Audience,
    EntryView,
    entries_query,
    label,
    views_of,
)
from .models import Incident, TimelineEntry

API_LIMIT = 100
API_LIMIT_MAX = 500
PAGE_SIZE = 50

# the incident page's choices besides one kind: the people's entries (the default) or all
PEOPLE, ALL = "", "all"


# -- cursors -----------------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    """Opaque to clients: they hand it back, they do not build it."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor") -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "seq" or not number.isdigit() or len(number) > 10:
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInput(
            "The cursor is not valid.",
            [FieldError(field, "Use the cursor a previous page returned in 'next'.")],
        ) from None


def check_kinds(kinds: Iterable[str], *, field: str = "kind") -> list[str]:
    """The kinds asked for, each one a declared kind; an unknown one is named in a 422."""
    wanted = list(dict.fromkeys(kinds))
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise InvalidInput(
            "Unknown kind of timeline entry.",
            [FieldError(field, f"Unknown kind {k[:60]!r}.") for k in unknown[:10]],
        )
    return wanted


# -- the API -----------------------------------------------------------------------------------


def entries_page_for(
    reader: Audience | User,
    incident: Incident,
    *,
    kinds: Iterable[str] | None = None,
    cursor: str | None = None,
    limit: int = API_LIMIT,
) -> tuple[list[EntryView], str | None]:
    """Up to `limit` entries `reader` may see, oldest first, after `cursor`, and the cursor of
    the next page (None on the last). The audience's filter is `kinds.entries_query`'s."""
    audience, qs = entries_query(reader, incident, kinds=kinds)
    if cursor:
        qs = qs.filter(seq__gt=decode_cursor(cursor))
    some_kinds = audience != Audience.TEAM or (kinds is not None and len(set(kinds)) > 1)
    rows = _first_rows(qs, limit + 1, newest=False) if some_kinds else list(qs[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return views_of(rows[:limit], audience), next_cursor


# -- the team's incident page ------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryLine:
    text: str
    href: str
    link: str


@dataclass
class Window:
    rows: list[TimelineEntry]
    older: str | None  # the cursor of the next older page, or None
    summary: list[SummaryLine]
    counts: dict[str, int]


def _first_rows(qs: QuerySet[TimelineEntry], count: int, *, newest: bool) -> list[TimelineEntry]:
    """The first `count` rows of `qs` (narrowed to some kinds) in seq order, or newest first.
    Ordered by seq, a database walks the incident's (incident, seq) index and skips every
    entry of another kind, thousands of deliveries among them; so the seqs come first, from
    the (incident, kind, seq) index, and then only those rows."""
    seqs = sorted(qs.order_by().values_list("seq", flat=True), reverse=newest)[:count]
    return list(qs.filter(seq__in=seqs).order_by("-seq" if newest else "seq"))


def kind_counts(incident: Incident) -> dict[str, int]:
    """Entries per kind, counted by the database (one GROUP BY over the incident's index)."""
    rows = (
        TimelineEntry.objects.filter(incident=incident, seq__lte=incident.timeline_seq)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    return {kind: n for kind, n in rows}


def _codes(kind: str) -> list[str] | None:
    if kind == PEOPLE:
        return list(PEOPLE_KINDS)
    return None if kind == ALL else [kind]


def _entries(incident: Incident, kind: str) -> QuerySet[TimelineEntry]:
    # never past the head read with the incident: an entry written meanwhile waits for the
    # next poll instead of being shown twice
    qs = incident.timeline.select_related("actor").filter(seq__lte=incident.timeline_seq)
    codes = _codes(kind)
    return qs.filter(kind__in=codes) if codes is not None else qs


def _rows(qs: QuerySet[TimelineEntry], kind: str, count: int) -> list[TimelineEntry]:
    if kind == PEOPLE:
        return _first_rows(qs, count, newest=True)
    return list(qs.order_by("-seq")[:count])


def summary_of(incident: Incident, counts: dict[str, int]) -> list[SummaryLine]:
    """One line for the deliveries and one per other kind the product wrote itself."""
    lines = []
    sent, failed = (counts.get(code, 0) for code in DELIVERY_KINDS)
    if sent or failed:
        total = sent + failed
        lines.append(
            SummaryLine(
                f"{total:,} deliver{'ies' if total != 1 else 'y'}: {sent:,} sent, {failed:,} failed",
                f"/incidents/{incident.ref}/communications",
                "See the deliveries",
            )
        )
    for code in SYSTEM_KINDS:
        if code not in DELIVERY_KINDS and counts.get(code):
            lines.append(
                SummaryLine(
                    f"{label(code)}: {counts[code]:,}", f"?kind={code}#timeline", "Show them"
                )
            )
    return lines


def team_window(
    incident: Incident, *, kind: str, before: int | None, counts: dict[str, int]
) -> Window:
    """The newest PAGE_SIZE entries of the chosen kind (older than `before` when given)."""
    qs = _entries(incident, kind)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = _rows(qs, kind, PAGE_SIZE + 1)
    older = encode_cursor(rows[PAGE_SIZE - 1].seq) if len(rows) > PAGE_SIZE else None
    return Window(rows[:PAGE_SIZE], older, summary_of(incident, counts), counts)


def entries_since(incident: Incident, *, kind: str, since: int) -> list[TimelineEntry] | None:
    """The entries of the chosen kind written after entry `since`, newest first; None when
    there are more than a page of them (the page then shows its newest window afresh)."""
    rows = _rows(_entries(incident, kind).filter(seq__gt=since), kind, PAGE_SIZE + 1)
    return rows if len(rows) <= PAGE_SIZE else None
