"""Appending to an incident's hash-chained timeline. Only services call `append`."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from incidentdesk.core import chain

from .models import Incident, TimelineEntry

# Sent inside the transaction that appends an entry, with `incident` and `entry`. Receivers
# (notifications, the status page, ...) queue their own work in the same transaction, so the
# action, its entry and the work it causes commit or roll back together.
entry_appended = Signal()


def scope_of(incident: Incident) -> str:
    return incident.ref


def append(incident: Incident, *, kind: str, by: Any, data: dict[str, Any]) -> TimelineEntry:
    """Append one entry. The caller holds the incident's row lock inside a transaction and
    saves the incident afterwards (this sets its chain head and updated_at).

    An entry a person writes advances the incident's `version`, which a form loaded before it
    must match; an entry the system writes (a delivery, an SLA warning, a reminder) records
    what happened without changing the incident, so it leaves forms in people's hands valid."""
    link = chain.next_link(
        scope=scope_of(incident),
        head_seq=incident.timeline_seq,
        head_hash=incident.timeline_head or chain.GENESIS,
        kind=kind,
        by=by,
        data=data,
    )
    entry = TimelineEntry.objects.create(
        incident=incident, kind=kind, actor=by, data=data, **link.fields()
    )
    incident.timeline_seq = link.seq
    incident.timeline_head = link.hash
    if by is not None:
        incident.version += 1
    incident.updated_at = link.at
    entry_appended.send(sender=TimelineEntry, incident=incident, entry=entry)
    return entry


def verify(incident: Incident) -> chain.Break | None:
    entries = TimelineEntry.objects.filter(incident=incident).order_by("seq").iterator()
    return chain.verify(scope_of(incident), entries, incident.timeline_head or chain.GENESIS)
