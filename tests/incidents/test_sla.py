"""SLA clocks: "due soon" then "breached", once per target, written by the worker's task."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident

from ..cli.helpers import fresh_copy, initialised_template, shell, sqlite_only  # noqa: F401
from ..cli.helpers import run as incidentdesk
from .conftest import T0


def sla_entries(incident: Incident) -> list[tuple[str, str]]:
    return [
        (e.kind, e.data["target"])
        for e in incident.timeline.filter(kind__startswith="sla_").order_by("seq")
    ]


@pytest.fixture
def reported(stakeholder, other_stakeholder):
    with clock.frozen(T0):
        return s.incident_report(by=stakeholder, title="Tills cannot sync")


def check_at(at: dt.datetime) -> int:
    with clock.frozen(at):
        return s.incident_sla_check()


def test_due_soon_then_breached_once_per_target(reported):
    # assumed P2 until categorized: acknowledge 1h, triage 1h, resolve 1d; "soon" = last 25%
    assert check_at(T0 + dt.timedelta(minutes=40)) == 0
    assert check_at(T0 + dt.timedelta(minutes=50)) == 2
    assert check_at(T0 + dt.timedelta(minutes=55)) == 0
    assert check_at(T0 + dt.timedelta(minutes=61)) == 2
    assert check_at(T0 + dt.timedelta(minutes=90)) == 0
    assert sla_entries(reported) == [
        ("sla_due_soon", "acknowledge"),
        ("sla_due_soon", "triage"),
        ("sla_breached", "acknowledge"),
        ("sla_breached", "triage"),
    ]
    assert check_at(T0 + dt.timedelta(hours=19)) == 1
    assert check_at(T0 + dt.timedelta(days=1, minutes=1)) == 1
    assert check_at(T0 + dt.timedelta(days=2)) == 0
    assert sla_entries(reported)[-2:] == [("sla_due_soon", "resolve"), ("sla_breached", "resolve")]
    entry = reported.timeline.filter(kind="sla_breached").last()
    assert entry.actor_label == "system"
    assert entry.data == {
        "target": "resolve",
        "due_at": (T0 + dt.timedelta(days=1)).isoformat(),
        "severity": None,
    }


def test_a_check_reads_only_the_incidents_that_are_due(member, django_assert_max_num_queries):
    """The check asks an index which incidents are due; incidents whose clocks are far off
    cost nothing, however many there are, and one that was checked is not read again until
    its next moment."""
    with clock.frozen(T0):
        for n in range(40):
            s.incident_report(by=member, title=f"Far off {n}")
    with django_assert_max_num_queries(1):
        assert check_at(T0 + dt.timedelta(minutes=10)) == 0
    # at 50 minutes every incident's acknowledge and triage clocks are due soon: all are read
    assert check_at(T0 + dt.timedelta(minutes=50)) == 80
    # and then none until the breach at 60 minutes
    with django_assert_max_num_queries(1):
        assert check_at(T0 + dt.timedelta(minutes=55)) == 0
    moments = set(Incident.objects.values_list("sla_check_at", flat=True))
    assert moments == {T0 + dt.timedelta(hours=1)}


def test_finishing_an_incident_takes_it_off_the_check(reported, member):
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        s.incident_reject(by=member, incident=reported, reason="Not an incident.")
    reported.refresh_from_db()
    assert reported.sla_check_at is None
    assert check_at(T0 + dt.timedelta(days=3)) == 0


def test_a_breach_straight_away_skips_due_soon(reported):
    assert check_at(T0 + dt.timedelta(hours=2)) == 2
    assert sla_entries(reported) == [("sla_breached", "acknowledge"), ("sla_breached", "triage")]


def test_acknowledged_and_triaged_stop_their_clocks(reported, member):
    with clock.frozen(T0 + dt.timedelta(minutes=30)):
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P3", impact="few"
        )
    # P3: first update due a day after the report, resolve within 5 days
    assert check_at(T0 + dt.timedelta(hours=2)) == 0
    assert check_at(T0 + dt.timedelta(hours=19)) == 1
    assert sla_entries(reported) == [("sla_due_soon", "update")]
    assert check_at(T0 + dt.timedelta(days=1, minutes=1)) == 1
    assert sla_entries(reported)[-1] == ("sla_breached", "update")


def test_a_new_update_due_time_is_a_new_clock(reported, member):
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P3", impact="few"
        )
    assert check_at(T0 + dt.timedelta(days=1, minutes=1)) == 1
    with clock.frozen(T0 + dt.timedelta(days=1, hours=1)):
        s.incident_post_update(
            by=member, incident=reported, status="investigating", body="Still on it"
        )
    # the next update is due 2 days after this one: breached again only then
    assert check_at(T0 + dt.timedelta(days=2)) == 0
    assert check_at(T0 + dt.timedelta(days=2, hours=20)) == 1
    assert check_at(T0 + dt.timedelta(days=3, hours=2)) == 1
    assert [k for k, t in sla_entries(reported) if t == "update"] == [
        "sla_breached",
        "sla_due_soon",
        "sla_breached",
    ]


def test_finished_incidents_have_no_clocks(reported, member):
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        s.incident_reject(by=member, incident=reported, reason="Not an incident")
    assert check_at(T0 + dt.timedelta(days=10)) == 0
    assert sla_entries(reported) == []


SETUP = """
import datetime as dt
import sqlite3
from incidentdesk.accounts.services import user_create
from incidentdesk.core import clock
from incidentdesk.incidents import services
from incidentdesk.incidents.tasks import check_sla_clocks
user = user_create(by=None, email="alex@spacewise.test", password="correct-horse-9", role="member")
with clock.frozen(clock.now() - dt.timedelta(days=2)):
    incident = services.incident_report(by=user, title="Nobody looked at this")
check_sla_clocks.enqueue()
print(incident.ref)
"""


def sla_rows(data_dir) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "incidentdesk.sqlite3") as db:
        return db.execute(
            "SELECT kind, json_extract(data, '$.target') FROM incidents_timelineentry "
            "WHERE kind LIKE 'sla_%' ORDER BY seq"
        ).fetchall()


@sqlite_only
def test_the_worker_runs_the_queued_check(initialised_template, tmp_path):  # noqa: F811
    data_dir = fresh_copy(initialised_template, tmp_path / "data")
    assert shell(data_dir, SETUP).strip() == "INC-1"
    assert sla_rows(data_dir) == []
    incidentdesk(data_dir, "worker", "--batch")
    assert sla_rows(data_dir) == [
        ("sla_breached", "acknowledge"),
        ("sla_breached", "triage"),
        ("sla_breached", "resolve"),
    ]
