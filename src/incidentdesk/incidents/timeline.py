"""Appending to an incident's hash-chained timeline. Only services call `append`."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from incidentdesk.core import chain, clock

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
    note_delivery(incident, kind=kind, seq=link.seq, data=data)
    if by is not None:
        incident.version += 1
    incident.updated_at = link.at
    entry_appended.send(sender=TimelineEntry, incident=incident, entry=entry)
    return entry


def append_many(incident: Incident, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Append entries the system writes (kind, data) with one INSERT, as `append` would one
    by one (the same chain, `entry_appended` for each): a batch of delivery outcomes holds the
    incident's row lock for one statement, not one per entry. The caller holds that lock
    inside a transaction and saves the incident afterwards."""
    if not items:
        return
    scope = scope_of(incident)
    seq, head = incident.timeline_seq, incident.timeline_head or chain.GENESIS
    rows = []
    for kind, data in items:
        link = chain.next_link(
            scope=scope, head_seq=seq, head_hash=head, kind=kind, by=None, data=data
        )
        rows.append(TimelineEntry(incident=incident, kind=kind, actor=None, data=data,
                                  **link.fields()))  # fmt: skip
        seq, head = link.seq, link.hash
        note_delivery(incident, kind=kind, seq=seq, data=data)
    entries = TimelineEntry.objects.bulk_create(rows)
    incident.timeline_seq, incident.timeline_head = seq, head
    incident.updated_at = rows[-1].at
    for entry in entries:
        entry_appended.send(sender=TimelineEntry, incident=incident, entry=entry)


# the incident's fields `append` may change besides the chain head and version
DELIVERY_FIELDS = ("team_delivery_seq", "stakeholder_delivery_seq", "resolution_delivery_seq")

# who a delivery went to (its `audience`), as the policy's communication step counts it
TEAM_AUDIENCES = frozenset({"manager", "team"})
STAKEHOLDER_AUDIENCES = frozenset({"stakeholders", "subscribers"})


def note_delivery(incident: Incident, *, kind: str, seq: int, data: dict[str, Any]) -> None:
    """Keep the incident's first-delivery seqs (see the model) as entries are appended."""
    if kind == "resolved":
        incident.resolution_delivery_seq = None
        return
    if kind != "delivered":
        return
    audience = data.get("audience")
    if audience in TEAM_AUDIENCES and incident.team_delivery_seq is None:
        incident.team_delivery_seq = seq
    if audience in STAKEHOLDER_AUDIENCES and incident.stakeholder_delivery_seq is None:
        incident.stakeholder_delivery_seq = seq
    if data.get("trigger") == "resolved" and incident.resolution_delivery_seq is None:
        incident.resolution_delivery_seq = seq


def append_generated(
    incident: Incident, items: list[tuple[str, dict[str, Any]]], *, batch: int = 1000
) -> None:
    """Append many entries the system writes (kind, data), chained like `append`'s, in bulk:
    for generated data (demos at size, benchmarks, tests), where one INSERT per entry and a
    receiver per entry would take minutes. No `entry_appended` signal is sent, so nothing is
    queued. The caller holds the incident's row lock and saves the incident afterwards (its
    chain head, updated_at and DELIVERY_FIELDS)."""
    at = clock.now()
    prev = incident.timeline_head or chain.GENESIS
    scope = scope_of(incident)
    rows = []
    for offset, (kind, data) in enumerate(items, start=1):
        seq = incident.timeline_seq + offset
        digest = chain.entry_hash(
            scope=scope, seq=seq, kind=kind, actor="system", at=at, data=data, prev_hash=prev
        )
        rows.append(
            TimelineEntry(
                incident=incident,
                seq=seq,
                kind=kind,
                actor_label="system",
                at=at,
                data=data,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
        note_delivery(incident, kind=kind, seq=seq, data=data)
    TimelineEntry.objects.bulk_create(rows, batch_size=batch)
    incident.timeline_seq += len(rows)
    incident.timeline_head = prev
    incident.updated_at = at


def verify(incident: Incident) -> chain.Break | None:
    entries = TimelineEntry.objects.filter(incident=incident).order_by("seq").iterator()
    return chain.verify(scope_of(incident), entries, incident.timeline_head or chain.GENESIS)
