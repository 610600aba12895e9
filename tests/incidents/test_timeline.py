"""The timeline is append-only and hash-chained; hand edits in the database are found."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from incidentdesk.core import chain
from incidentdesk.incidents import services as s
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident, TimelineEntry


@pytest.fixture
def worked(stakeholder, other_stakeholder, member):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few"
    )
    s.incident_add_note(by=member, incident=incident, body="Looking at the sync logs")
    s.incident_resolve(by=member, incident=incident, summary="Restarted")
    return Incident.objects.get(pk=incident.pk)


def entries(incident: Incident) -> list[TimelineEntry]:
    return list(incident.timeline.order_by("seq"))


def test_entries_are_hash_chained(worked):
    chain_ = entries(worked)
    assert [e.seq for e in chain_] == [1, 2, 3, 4, 5]
    assert chain_[0].prev_hash == chain.GENESIS
    for previous, entry in itertools.pairwise(chain_):
        assert entry.prev_hash == previous.hash
    for entry in chain_:
        assert entry.hash == chain.entry_hash(
            scope=worked.ref,
            seq=entry.seq,
            kind=entry.kind,
            actor=entry.actor_label,
            at=entry.at,
            data=entry.data,
            prev_hash=entry.prev_hash,
        )
    assert worked.timeline_head == chain_[-1].hash
    assert worked.timeline_seq == 5
    assert timeline.verify(worked) is None


def test_chains_of_two_incidents_are_independent(worked, member):
    other = s.incident_report(by=member, title="Another")
    assert other.timeline.get().prev_hash == chain.GENESIS
    assert timeline.verify(other) is None


def test_an_entry_is_never_saved_twice(worked):
    entry = worked.timeline.first()
    entry.data = {"title": "rewritten"}
    with pytest.raises(TypeError, match="never updated"):
        entry.save()


def test_querysets_neither_update_nor_delete(worked):
    with pytest.raises(TypeError, match="never updated"):
        TimelineEntry.objects.filter(incident=worked).update(kind="x")
    with pytest.raises(TypeError, match="never deleted"):
        TimelineEntry.objects.filter(incident=worked).delete()
    with pytest.raises(TypeError, match="never deleted"):
        worked.timeline.first().delete()
    assert worked.timeline.count() == 5


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_row_edited_with_sql_is_found(worked):
    table = TimelineEntry._meta.db_table
    note = worked.timeline.get(kind="note")
    _raw(
        f"UPDATE {table} SET data = %s WHERE id = %s",
        ['{"body": "Nothing to see here"}', note.pk],
    )
    broken = timeline.verify(worked)
    assert broken == chain.Break(
        note.seq, "content does not match its hash (edited after it was written)"
    )


def test_an_edited_actor_is_found(worked):
    table = TimelineEntry._meta.db_table
    first = worked.timeline.get(seq=1)
    _raw(f"UPDATE {table} SET actor_label = %s WHERE id = %s", ["someone@else.test", first.pk])
    assert timeline.verify(worked).seq == 1


def test_a_rehashed_row_breaks_the_next_link(worked):
    table = TimelineEntry._meta.db_table
    note = worked.timeline.get(kind="note")
    forged = chain.entry_hash(
        scope=worked.ref,
        seq=note.seq,
        kind=note.kind,
        actor=note.actor_label,
        at=note.at,
        data={"body": "forged"},
        prev_hash=note.prev_hash,
    )
    _raw(
        f"UPDATE {table} SET data = %s, hash = %s WHERE id = %s",
        ['{"body": "forged"}', forged, note.pk],
    )
    assert timeline.verify(worked) == chain.Break(
        note.seq + 1, "prev_hash does not match the previous entry"
    )


def test_a_deleted_last_row_is_found(worked):
    table = TimelineEntry._meta.db_table
    last = worked.timeline.order_by("-seq").first()
    _raw(f"DELETE FROM {table} WHERE id = %s", [last.pk])
    assert timeline.verify(worked) == chain.Break(5, "entries after this point were removed")


def test_a_deleted_middle_row_is_found(worked):
    table = TimelineEntry._meta.db_table
    middle = worked.timeline.get(seq=3)
    _raw(f"DELETE FROM {table} WHERE id = %s", [middle.pk])
    assert timeline.verify(worked) == chain.Break(3, "entry 3 is missing")


def test_entry_appended_signal_fires_inside_the_transaction(stakeholder, member):
    seen = []

    def receiver(sender, incident, entry, **kwargs):
        seen.append((incident.ref, entry.seq, entry.kind))

    timeline.entry_appended.connect(receiver)
    try:
        incident = s.incident_report(by=stakeholder, title="x")
        s.incident_acknowledge(by=member, incident=incident)
    finally:
        timeline.entry_appended.disconnect(receiver)
    assert seen == [(incident.ref, 1, "reported"), (incident.ref, 2, "acknowledged")]
