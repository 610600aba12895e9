"""The policy's six steps, computed from the timeline: done / pending / late, with the entry."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.steps import policy_steps

from .conftest import T0

KEYS = ["assess", "categorize", "communicate", "resolve", "inform", "document"]


def at(minutes: float = 0, **delta: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes, **delta)


def steps_at(incident: Incident, when: dt.datetime) -> dict[str, tuple[str, int | None]]:
    incident = Incident.objects.get(pk=incident.pk)
    with clock.frozen(when):
        steps = policy_steps(incident)
    assert [st.key for st in steps] == KEYS
    assert [st.number for st in steps] == [1, 2, 3, 4, 5, 6]
    return {st.key: (st.state, st.entry_seq) for st in steps}


def seq(incident: Incident, kind: str) -> int:
    return incident.timeline.filter(kind=kind).order_by("seq").first().seq


@pytest.fixture
def reported(stakeholder, other_stakeholder):
    with clock.frozen(T0):
        return s.incident_report(by=stakeholder, title="Tills cannot sync")


def test_a_fresh_report_has_every_step_pending(reported):
    assert steps_at(reported, at(10)) == {key: ("pending", None) for key in KEYS}
    with clock.frozen(at(10)):
        communicate = policy_steps(reported)[2]
    assert communicate.detail == "waiting for internal discussion and stakeholder update"
    assert communicate.due_at == at(hours=2)


def test_untouched_report_is_late(reported):
    states = steps_at(reported, at(hours=3))
    assert states["assess"] == states["categorize"] == states["communicate"] == ("late", None)
    assert states["resolve"] == ("pending", None)
    assert steps_at(reported, at(days=2))["resolve"] == ("late", None)


def test_steps_done_on_time_name_their_entries(reported, member, manager):
    with clock.frozen(at(10)) as c:
        s.incident_acknowledge(by=member, incident=reported)
        c.advance(minutes=10)
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P3", impact="few"
        )
        c.advance(minutes=10)
        s.incident_add_note(by=member, incident=reported, body="Tell the manager")
        c.advance(minutes=10)
        s.incident_post_update(
            by=member, incident=reported, status="investigating", body="Looking into it"
        )
        c.advance(hours=1)
        s.incident_resolve(by=member, incident=reported, summary="Restarted sync")
        c.advance(minutes=5)
        s.incident_post_update(by=member, incident=reported, status="resolved", body="Fixed")
        c.advance(minutes=5)
        s.incident_close(by=manager, incident=reported)
    last_update = reported.timeline.filter(kind="public_update").order_by("seq")
    assert steps_at(reported, at(days=30)) == {
        "assess": ("done", seq(reported, "acknowledged")),
        "categorize": ("done", seq(reported, "categorized")),
        "communicate": ("done", last_update.first().seq),
        "resolve": ("done", seq(reported, "resolved")),
        "inform": ("done", last_update.last().seq),
        "document": ("done", seq(reported, "closed")),
    }
    with clock.frozen(at(days=30)):
        resolve = policy_steps(Incident.objects.get(pk=reported.pk))[3]
    assert resolve.detail == "resolved with 4 guideline task(s) left open"
    assert resolve.done_at == at(100)


def test_a_step_done_after_its_target_is_late_with_its_entry(reported, member):
    with clock.frozen(at(hours=2)):
        s.incident_acknowledge(by=member, incident=reported)
    state, entry = steps_at(reported, at(hours=3))["assess"]
    assert (state, entry) == ("late", seq(reported, "acknowledged"))


def test_an_open_question_waits_for_the_reporter(reported, member, stakeholder):
    with clock.frozen(at(5)):
        s.incident_acknowledge(by=member, incident=reported)
        s.incident_request_info(by=member, incident=reported, question="Which stores?")
    with clock.frozen(at(10)):
        assess = policy_steps(Incident.objects.get(pk=reported.pk))[0]
    assert (assess.state, assess.entry_seq, assess.detail) == (
        "pending",
        None,
        "waiting for reporter",
    )
    with clock.frozen(at(20)):
        s.incident_provide_info(by=stakeholder, incident=reported, answer="Stores 4 and 7")
    assert steps_at(reported, at(30))["assess"] == ("done", seq(reported, "acknowledged"))


def test_a_rejected_incident_needs_no_further_steps(reported, member):
    with clock.frozen(at(5)):
        s.incident_acknowledge(by=member, incident=reported)
        s.incident_reject(by=member, incident=reported, reason="A training exercise")
    with clock.frozen(at(days=3)):
        steps = policy_steps(Incident.objects.get(pk=reported.pk))
    assert steps[0].state == "done"
    for step in steps[1:]:
        assert (step.state, step.due_at, step.detail) == (
            "not_applicable",
            None,
            "rejected: A training exercise",
        )


def test_reopening_undoes_the_resolution_step(reported, member):
    with clock.frozen(at(5)):
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P3", impact="few"
        )
        s.incident_resolve(by=member, incident=reported, summary="Restarted")
        s.incident_reopen(by=member, incident=reported, reason="Back again")
    assert steps_at(reported, at(10))["resolve"] == ("pending", None)
    assert steps_at(reported, at(10))["inform"] == ("pending", None)


def test_steps_over_the_api(client, reported, member, token_for):
    r = client.get(
        f"/api/v1/incidents/{reported.ref}/steps",
        HTTP_AUTHORIZATION=f"Bearer {token_for(member)}",
    )
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["number"], i["key"]) for i in items] == list(enumerate(KEYS, start=1))
    assert set(items[0]) == {
        "number",
        "key",
        "name",
        "state",
        "done_at",
        "entry_seq",
        "due_at",
        "detail",
    }
    assert items[0]["name"] == "Assess the incident and collect all the information"
