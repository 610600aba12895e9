"""The sweeper: deliveries a dead worker left behind are enqueued again."""

from __future__ import annotations

import datetime as dt

from django_tasks_db.models import DBTaskResult

from incidentdesk.comms import services
from incidentdesk.comms.models import Delivery
from incidentdesk.core import clock

from .conftest import deliver_due

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _queue(key: str) -> Delivery:
    return services.message_queue(
        channel="email", recipient=f"{key}@example.test", subject="s", body_markdown="b", key=key
    )


def test_expired_lease_is_swept_and_sent(smtp, settings):
    settings.DELIVERY_LEASE_SECONDS = 60
    with clock.frozen(START) as c:
        delivery = _queue("leased")
        Delivery.objects.filter(pk=delivery.pk).update(
            claimed_until=START + dt.timedelta(seconds=60), attempts=1
        )
        assert services.deliveries_sweep() == 0
        assert deliver_due() == ["nothing to do"]
        c.advance(seconds=61)
        assert services.deliveries_sweep() == 1
        delivery.refresh_from_db()
        assert delivery.claimed_until is None
        assert DBTaskResult.objects.filter(id=delivery.task_id, status="READY").exists()
        assert deliver_due() == ["sent"]
    assert [m["To"] for m in smtp.messages] == ["leased@example.test"]


def test_delivery_whose_task_died_running_is_swept(smtp, settings):
    settings.DELIVERY_LEASE_SECONDS = 60
    with clock.frozen(START) as c:
        delivery = _queue("orphan")
        DBTaskResult.objects.filter(id=delivery.task_id).update(status="RUNNING", started_at=START)
        c.advance(seconds=30)
        assert services.deliveries_sweep() == 0
        c.advance(seconds=31)
        assert services.deliveries_sweep() == 1
        assert services.deliveries_sweep() == 0


def test_waiting_deliveries_are_left_alone(smtp, settings):
    settings.DELIVERY_LEASE_SECONDS = 60
    with clock.frozen(START) as c:
        _queue("waiting")
        c.advance(hours=1)
        assert services.deliveries_sweep() == 0


def test_delivery_in_a_running_batch_is_left_alone_within_the_lease(smtp, settings):
    settings.DELIVERY_LEASE_SECONDS = 60
    with clock.frozen(START) as c:
        delivery = _queue("in-batch")
        c.advance(minutes=5)
        DBTaskResult.objects.filter(id=delivery.task_id).update(
            status="RUNNING", started_at=clock.now()
        )
        c.advance(seconds=59)
        assert services.deliveries_sweep() == 0
