"""Metrics from scripted incidents with controlled timestamps; expected figures by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import InvalidInput
from incidentdesk.incidents import services as s
from incidentdesk.reviews import metrics
from incidentdesk.reviews import services as rs
from incidentdesk.reviews.insights import figures, parse_range

from .helpers import at, worked_incident

MIN = 60
HOUR = 3600


def test_percentile_interpolates_between_ranks():
    assert metrics.percentile([600, 1200, 1800, 7200], 0.5) == 1500
    # (4 - 1) * 0.9 = 2.7: 1800 + 0.7 * (7200 - 1800)
    assert metrics.percentile([7200, 600, 1800, 1200], 0.9) == pytest.approx(5580)
    assert metrics.percentile([5], 0.9) == 5
    assert metrics.percentile([], 0.5) is None
    assert metrics.stats([]) == metrics.Stats(0, None, None, None)


def test_months_between_spans_year_end():
    assert metrics.months_between(dt.date(2025, 11, 20), dt.date(2026, 2, 1)) == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]


@pytest.fixture
def scripted(member, manager):
    a = worked_incident(
        member, reported=at(2026, 3, 2, 10), title="Checkout fails for card payments",
        ack=10, categorize=20, update=40, resolve=3 * 60,
    )  # fmt: skip
    b = worked_incident(
        member, reported=at(2026, 3, 5, 9), title="Reports are slow", type="performance",
        severity="P2", impact="some", ack=30, categorize=50, update=90, resolve=10 * 60,
    )  # fmt: skip
    c = worked_incident(
        member, reported=at(2026, 4, 1, 12), title="Checkout fails for card payment",
        ack=20, categorize=25, update=25, resolve=6 * 60,
    )  # fmt: skip
    with clock.frozen(at(2026, 4, 1, 19)) as t:
        s.incident_reopen(by=member, incident=c.ref, reason="Failing again")
        t.advance(hours=2)
        s.incident_resolve(by=member, incident=c.ref, summary="Fixed for good.")
    d = worked_incident(
        member, reported=at(2026, 4, 10, 8), title="Checkout fails for card payments again",
        severity="P3", impact="few", ack=120, categorize=150,
    )  # fmt: skip
    with clock.frozen(at(2026, 3, 3, 9)) as t:
        done_on_time = rs.action_item_create(
            by=manager, incident=a.ref, title="Alert on card errors", kind="detect",
            owner=member.email, due_date=dt.date(2026, 3, 10),
        )  # fmt: skip
        done_late = rs.action_item_create(
            by=manager, incident=a.ref, title="Retry payments", kind="mitigate",
            owner=member.email, due_date=dt.date(2026, 3, 10),
        )  # fmt: skip
        rs.action_item_create(
            by=manager, incident=a.ref, title="Contract test for the gateway", kind="prevent",
            owner=member.email, due_date=dt.date(2026, 4, 20),
        )  # fmt: skip
        rs.action_item_create(
            by=manager, incident=a.ref, title="Runbook for payment outages", kind="process",
            owner=member.email, due_date=dt.date(2026, 5, 15),
        )  # fmt: skip
        t.set(at(2026, 3, 9, 16))
        rs.action_item_update(by=member, item_id=done_on_time.pk, status="done")
        t.set(at(2026, 3, 12, 16))
        rs.action_item_update(by=member, item_id=done_late.pk, status="done")
    return a, b, c, d


def test_figures_of_a_scripted_quarter(scripted, manager):
    _a, _b, c, d = scripted
    with clock.frozen(at(2026, 4, 30, 12)):
        f = figures(manager, dt.date(2026, 3, 1), dt.date(2026, 4, 30))

    assert f["incidents"] == 4
    ack = next(x for x in f["durations"] if x["key"] == "acknowledge")
    assert ack["spans"] == "reported to acknowledged"
    # 10, 30, 20 and 120 minutes
    assert ack["overall"] == {
        "count": 4,
        "mean": (600 + 1800 + 1200 + 7200) / 4,
        "median": 1500.0,
        "p90": pytest.approx(5580.0),
    }
    assert ack["by_month"]["2026-03"]["median"] == (600 + 1800) / 2
    assert ack["by_severity"]["P1"]["count"] == 2

    resolve = next(x for x in f["durations"] if x["key"] == "resolve")
    assert resolve["spans"] == "reported to resolved"
    # 3h, 10h, and 9h for C (its final resolution, after the reopening); D is unresolved
    assert resolve["overall"]["count"] == 3
    assert resolve["overall"]["mean"] == (3 + 10 + 9) * HOUR / 3
    assert resolve["overall"]["median"] == 9 * HOUR
    assert resolve["overall"]["p90"] == pytest.approx(9 * HOUR + 0.8 * HOUR)
    assert resolve["by_type"]["performance"]["median"] == 10 * HOUR

    first_update = next(x for x in f["durations"] if x["key"] == "first_update")
    assert first_update["overall"]["median"] == 40 * MIN  # 25, 40, 90 minutes

    sla = {x["target"]: x for x in f["sla"]}
    # acknowledge: A 10m <= 15m, B 30m <= 1h, C 20m > 15m, D 2h <= 4h
    assert (sla["acknowledge"]["met"], sla["acknowledge"]["total"]) == (3, 4)
    assert sla["acknowledge"]["rate"] == 0.75
    assert sla["acknowledge"]["by_severity"]["P1"] == {"met": 1, "total": 2, "rate": 0.5}
    # resolve: A 3h <= 4h, B 10h <= 1d, C 9h > 4h, D open 20 days > 5d
    assert (sla["resolve"]["met"], sla["resolve"]["total"]) == (2, 4)

    assert f["counts"]["by_month"] == {"2026-03": 2, "2026-04": 2}
    assert f["counts"]["by_type"] == {"functionality": 3, "performance": 1}
    assert f["counts"]["trend"]["change"] == 0

    assert f["reopen"]["reopened"] == 1
    assert f["reopen"]["resolved"] == 3
    assert f["reopen"]["rate"] == pytest.approx(1 / 3)
    assert f["reopen"]["refs"] == [c.ref]

    # A to C is 30 days and 2 hours: too far apart; C to D is 9 days, same type, similar title
    assert f["recurrence"]["pairs"] == [{"ref": d.ref, "previous": c.ref}]
    assert f["recurrence"]["rate"] == 0.25

    assert f["action_items"] == {
        "label": "Action items",
        "spans": "created to done, against the due date",
        "total": 4,
        "open": 2,
        "overdue": 1,
        "done": 2,
        "done_on_time": 1,
        "dropped": 0,
        "completion_rate": 0.5,
        "on_time_rate": 0.5,
    }
    rows = metrics.flatten(f)
    assert {"figure": "acknowledge", "group": "overall", "key": "all", "measure": "median_seconds",
            "value": 1500.0, "spans": "reported to acknowledged"} in rows  # fmt: skip


def test_empty_range_gives_empty_figures(scripted, manager):
    with clock.frozen(at(2026, 4, 30, 12)):
        f = figures(manager, dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert f["incidents"] == 0
    assert f["durations"][0]["overall"] == {"count": 0, "mean": None, "median": None, "p90": None}
    assert f["reopen"]["rate"] is None
    assert f["counts"]["by_month"] == {"2025-01": 0}


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("2026-13-01", None, "from"), ("2026-05-01", "2026-04-01", "from"), (None, "tomorrow", "to"),
     ("2020-01-01", "2026-01-01", "from")],
)  # fmt: skip
def test_bad_ranges_are_refused(start, end, field):
    with pytest.raises(InvalidInput) as exc:
        parse_range(start, end)
    assert exc.value.errors[0].field == field


def test_default_range_is_the_last_180_days():
    with clock.frozen(at(2026, 6, 30, 12)):
        assert parse_range(None, None) == (dt.date(2026, 1, 2), dt.date(2026, 6, 30))


def test_recurrence_uses_status_page_components_when_linked(member, manager):
    from incidentdesk.statuspage.services import component_create, incident_link_component

    tills = component_create(by=None, name="Tills")
    web = component_create(by=None, name="Web shop")
    first = worked_incident(member, reported=at(2026, 5, 1, 9), title="Tills offline", resolve=60)
    same = worked_incident(member, reported=at(2026, 5, 10, 9), title="Payments broken", resolve=60)
    other = worked_incident(member, reported=at(2026, 5, 12, 9), title="Tills offline", resolve=60)
    with clock.frozen(at(2026, 5, 12, 12)):
        incident_link_component(by=member, incident=first.ref, component=tills.pk)
        incident_link_component(by=member, incident=same.ref, component=tills.pk)
        incident_link_component(by=member, incident=other.ref, component=web.pk)
        f = figures(manager, dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    # a different title on the same component recurs; the same title on another component does not
    assert f["recurrence"]["pairs"] == [{"ref": same.ref, "previous": first.ref}]
