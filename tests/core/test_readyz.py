"""/readyz is cheap enough to be polled every few seconds by every load balancer: the migration
graph is read once per process, not on every call."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidentdesk.core import views


def test_readyz_reads_the_migration_state_once_per_process(client, db, monkeypatch):
    monkeypatch.setattr(views, "_migrated", False)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/readyz").json()["status"] == "ok"
    assert any("django_migrations" in q["sql"] for q in first.captured_queries)

    with CaptureQueriesContext(connection) as later:
        for _ in range(3):
            assert client.get("/readyz").status_code == 200
    assert not any("django_migrations" in q["sql"] for q in later.captured_queries)
    assert len(later.captured_queries) <= 3 * 3  # SELECT 1, the heartbeat, the oldest task
