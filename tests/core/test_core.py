"""The shared pieces: hash chains, the clock, the audit log, health checks, the error format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection

from incidentdesk.core import chain, clock
from incidentdesk.core.errors import FieldError, InvalidInput, field_error
from incidentdesk.core.models import AuditEntry
from incidentdesk.core.services import audit_record, audit_verify

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class Entry:
    seq: int
    kind: str
    actor_label: str
    at: dt.datetime
    data: dict
    prev_hash: str
    hash: str = ""


def build(n: int) -> list[Entry]:
    entries, prev = [], chain.GENESIS
    for i in range(1, n + 1):
        e = Entry(i, "note", "a@b.test", T0 + dt.timedelta(seconds=i), {"n": i}, prev)
        e.hash = chain.entry_hash(
            scope="S", seq=i, kind=e.kind, actor=e.actor_label, at=e.at, data=e.data, prev_hash=prev
        )
        entries.append(e)
        prev = e.hash
    return entries


def test_chain_verifies_and_finds_each_kind_of_break():
    entries = build(4)
    assert chain.verify("S", entries, entries[-1].hash) is None
    assert chain.verify("other scope", entries).seq == 1
    edited = build(4)
    edited[2].data = {"n": 99}
    assert chain.verify("S", edited) == chain.Break(
        3, "content does not match its hash (edited after it was written)"
    )
    assert chain.verify("S", entries[:1] + entries[2:]) == chain.Break(2, "entry 2 is missing")
    assert chain.verify("S", entries[:3], entries[-1].hash) == chain.Break(
        4, "entries after this point were removed"
    )


def test_hash_is_canonical_and_time_zone_independent():
    at = T0.astimezone(dt.timezone(dt.timedelta(hours=2)))
    common = {"scope": "S", "seq": 1, "kind": "k", "actor": "a", "prev_hash": chain.GENESIS}
    assert chain.entry_hash(at=T0, data={"a": 1, "b": 2}, **common) == chain.entry_hash(
        at=at, data={"b": 2, "a": 1}, **common
    )
    assert chain.entry_hash(at=T0, data={}, **common) != chain.entry_hash(
        at=T0 + dt.timedelta(microseconds=1), data={}, **common
    )


def test_clock_freezes_and_advances():
    with clock.frozen(T0) as c:
        assert clock.now() == T0
        assert c.advance(minutes=5) == T0 + dt.timedelta(minutes=5)
        assert clock.now() == T0 + dt.timedelta(minutes=5)
    assert clock.now() != T0
    with pytest.raises(ValueError), clock.frozen(dt.datetime(2026, 1, 1)):
        pass


def test_error_format():
    error = InvalidInput("Not saved.", [FieldError("title", "Title is required.")])
    assert error.status_code == 422
    assert error.as_dict() == {
        "detail": "Not saved.",
        "errors": [{"field": "title", "message": "Title is required."}],
    }
    assert field_error("x", "bad").as_dict() == {
        "detail": "bad",
        "errors": [{"field": "x", "message": "bad"}],
    }


def test_audit_log_is_a_chain_that_finds_edits(db):
    audit_record(by=None, kind="test_one", data={"n": 1})
    audit_record(by=None, kind="test_two", data={"n": 2})
    assert audit_verify() is None
    last = AuditEntry.objects.order_by("-seq").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET kind = %s WHERE id = %s", ["x", last.pk]
        )
    assert audit_verify().seq == last.seq


def test_health_checks(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert (r.status_code, r.json()["status"]) == (200, "ok")
    assert r.json()["worker_seen_seconds_ago"] is None
    assert r.json()["oldest_queued_task_seconds"] == 0
    assert "no-cache" in r["Cache-Control"]


def test_readyz_says_when_tasks_wait_and_no_worker_is_seen(client, db):
    import datetime as dt

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from incidentdesk.core.models import WorkerHeartbeat
    from incidentdesk.incidents.tasks import check_sla_clocks

    check_sla_clocks.enqueue()
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(minutes=5))
    body = client.get("/readyz").json()
    assert body["status"] == "degraded"
    assert body["oldest_queued_task_seconds"] >= 300
    assert "no task worker" in body["detail"]

    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w1", host="here", pid=1, started_at=now, seen_at=now - dt.timedelta(seconds=3)
    )
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert 2 < body["worker_seen_seconds_ago"] < 60


def test_bad_json_and_unknown_fields_get_the_error_format(client, member, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(member)}"}
    r = client.post("/api/v1/incidents", data="{", content_type="application/json", **auth)
    assert r.status_code == 400
    assert set(r.json()) == {"detail", "errors"}
    r = client.post(
        "/api/v1/incidents",
        data={"title": "x", "colour": "red"},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "colour"


def test_periodic_work_waits_on_its_own_queue_not_the_deliveries(db):
    from django_tasks_db.models import DBTaskResult

    from incidentdesk.core.periodic import PERIODIC_TASKS, enqueue_due_periodic_tasks

    assert enqueue_due_periodic_tasks() == len(PERIODIC_TASKS)
    queued = DBTaskResult.objects.ready()
    assert sorted(queued.values_list("task_path", flat=True)) == sorted(PERIODIC_TASKS)
    assert set(queued.values_list("queue_name", flat=True)) == {"periodic"}
    # one of each waits already: nothing more is queued
    assert enqueue_due_periodic_tasks() == 0
