"""Random sequences of service calls by random people on a few incidents.

After every step: the status moved only along `lifecycle.TRANSITIONS`, timestamps are in order,
every timeline chain verifies, a call succeeded only when `PERMISSIONS` allows the caller's
role, and a refused call wrote nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from incidentdesk.accounts.permissions import PERMISSIONS
from incidentdesk.core import clock
from incidentdesk.core.errors import DomainError, PermissionDenied
from incidentdesk.incidents import lifecycle, roles, timeline
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, Task

from .conftest import T0, db_state

CALLERS = ("admin", "manager", "member", "member2", "stakeholder", "other_stakeholder")
TEAM = ("admin@spacewise.test", "morgan@spacewise.test", "alex@spacewise.test")


def _task_id(ref: str, position: int) -> int:
    ids = list(
        Task.objects.filter(incident_id=int(ref[4:]))
        .order_by("position")
        .values_list("pk", flat=True)
    )
    return ids[position % len(ids)] if ids else 0


# action -> (permission, call(by, ref, args)); `args` is drawn once per step
ACTIONS: dict[str, tuple[str, Any]] = {
    "acknowledge": (
        "incident.acknowledge",
        lambda by, ref, a: s.incident_acknowledge(by=by, incident=ref),
    ),
    "categorize": (
        "incident.categorize",
        lambda by, ref, a: s.incident_categorize(
            by=by,
            incident=ref,
            type=a["type"],
            severity=a["severity"],
            impact=a["impact"],
            reason=a["reason"],
        ),
    ),
    "assign": (
        "incident.assign",
        lambda by, ref, a: roles.incident_assign(
            by=by, incident=ref, assignee=by.email if a["self"] else a["assignee"]
        ),
    ),
    "set_status": (
        "incident.set_status",
        lambda by, ref, a: s.incident_set_status(by=by, incident=ref, status=a["status"]),
    ),
    "note": (
        "incident.note",
        lambda by, ref, a: s.incident_add_note(by=by, incident=ref, body="n"),
    ),
    "post_update": (
        "incident.post_update",
        lambda by, ref, a: s.incident_post_update(
            by=by, incident=ref, status=a["public"], body="We are on it."
        ),
    ),
    "request_info": (
        "incident.request_info",
        lambda by, ref, a: s.incident_request_info(by=by, incident=ref, question="Which?"),
    ),
    "provide_info": (
        "incident.provide_info",
        lambda by, ref, a: s.incident_provide_info(by=by, incident=ref, answer="These."),
    ),
    "task_update": (
        "incident.task_update",
        lambda by, ref, a: s.incident_task_update(
            by=by,
            incident=ref,
            task_id=_task_id(ref, a["position"]),
            state=a["task_state"],
            reason=a["reason"],
        ),
    ),
    "resolve": (
        "incident.resolve",
        lambda by, ref, a: s.incident_resolve(by=by, incident=ref, summary="Fixed."),
    ),
    "close": ("incident.close", lambda by, ref, a: s.incident_close(by=by, incident=ref)),
    "reject": (
        "incident.reject",
        lambda by, ref, a: s.incident_reject(
            by=by, incident=ref, reason="Not an incident", duplicate_of=a["duplicate_of"]
        ),
    ),
    "reopen": (
        "incident.reopen",
        lambda by, ref, a: s.incident_reopen(by=by, incident=ref, reason="Again"),
    ),
}

ARGS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["functionality", "security", "performance", "maintenance"]),
        "severity": st.sampled_from(["P1", "P2", "P3"]),
        "impact": st.sampled_from(["all", "most", "some", "few"]),
        "reason": st.sampled_from(["", "Judged by the team"]),
        "self": st.booleans(),
        "assignee": st.sampled_from([None, *TEAM]),
        "status": st.sampled_from([s.value for s in lifecycle.Status]),
        "public": st.sampled_from(["investigating", "identified", "monitoring", "resolved"]),
        "position": st.integers(0, 6),
        "task_state": st.sampled_from(["open", "done", "skipped"]),
        "duplicate_of": st.sampled_from([None, "INC-1", "INC-2"]),
    }
)


_WORK = ["set_status", "resolve", "task_update"]
PROGRESS = {
    lifecycle.Status.REPORTED: ["categorize", "acknowledge", "reject"],
    lifecycle.Status.TRIAGED: _WORK,
    lifecycle.Status.INVESTIGATING: _WORK,
    lifecycle.Status.IDENTIFIED: _WORK,
    lifecycle.Status.MONITORING: _WORK,
    lifecycle.Status.RESOLVED: ["close", "reopen", "post_update"],
    lifecycle.Status.CLOSED: ["reopen"],
    lifecycle.Status.REJECTED: ["reopen"],
}


def allowed(role: str, action: str, by: Any, args: dict[str, Any]) -> bool:
    assigns_self = args["self"] or args["assignee"] == by.email
    if action == "assign" and assigns_self and role in PERMISSIONS["incident.assign_self"]:
        return True
    return role in PERMISSIONS[ACTIONS[action][0]]


class IncidentMachine(RuleBasedStateMachine):
    people: dict[str, Any] = {}
    incidents = Bundle("incidents")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._frozen = clock.frozen(T0)
        self._clock = self._frozen.__enter__()
        self.reported = 0

    def teardown(self) -> None:
        self._frozen.__exit__(None, None, None)
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @precondition(lambda self: self.reported < 3)
    @rule(target=incidents, caller=st.sampled_from(CALLERS), minutes=st.integers(1, 600))
    def report(self, caller: str, minutes: int):
        self._clock.advance(minutes=minutes)
        incident = s.incident_report(by=self.people[caller], title=f"Reported by {caller}")
        self.reported += 1
        return incident.ref

    @rule(
        ref=incidents,
        caller=st.sampled_from(CALLERS),
        action=st.sampled_from(sorted(ACTIONS)),
        args=ARGS,
        minutes=st.integers(0, 600),
    )
    def act(self, ref: str, caller: str, action: str, args: dict[str, Any], minutes: int) -> None:
        self._clock.advance(minutes=minutes)
        self._call(ref, caller, action, args)

    @rule(
        ref=incidents,
        caller=st.sampled_from(("admin", "manager", "member")),
        pick=st.integers(0, 2),
        args=ARGS,
        minutes=st.integers(0, 600),
    )
    def progress(self, ref: str, caller: str, pick: int, args: dict[str, Any], minutes: int):
        """A team member moves the incident on, so that deep states are reached too."""
        self._clock.advance(minutes=minutes)
        status = Incident.objects.values_list("status", flat=True).get(pk=int(ref[4:]))
        options = PROGRESS[lifecycle.Status(status)]
        action = options[pick % len(options)]
        args = {**args, "reason": "Judged by the team", "task_state": "done"}
        if action == "set_status":
            manual = sorted(lifecycle.MANUAL_STATUSES - {status})
            args["status"] = manual[pick % len(manual)]
        self._call(ref, caller, action, args)

    def _call(self, ref: str, caller: str, action: str, args: dict[str, Any]) -> None:
        by = self.people[caller]
        before = Incident.objects.get(pk=int(ref[4:]))
        state = db_state()
        try:
            ACTIONS[action][1](by, ref, args)
        except PermissionDenied:
            assert not allowed(by.role, action, by, args), f"{caller} was refused {action}"
            assert db_state() == state
            return
        except DomainError:
            assert db_state() == state, f"refused {action} by {caller} wrote something"
            return
        assert allowed(by.role, action, by, args), f"{caller} may not {action}, yet did"
        after = Incident.objects.get(pk=before.pk)
        if after.status != before.status:
            assert after.status in lifecycle.TRANSITIONS[lifecycle.Status(before.status)], (
                f"{before.status} -> {after.status} by {action}"
            )
        assert after.timeline_seq > before.timeline_seq

    @invariant()
    def timestamps_are_ordered(self) -> None:
        for i in Incident.objects.all():
            started = [i.reported_at]
            for later in (i.acknowledged_at, i.triaged_at):
                assert later is None or later >= i.reported_at
                if later is not None:
                    started.append(later)
            if i.resolved_at is not None:
                assert i.resolved_at >= max(started)
            if i.closed_at is not None:
                assert i.resolved_at is not None and i.closed_at >= i.resolved_at
            if i.status in ("resolved", "closed"):
                assert i.resolved_at is not None
            if i.status == "closed":
                assert i.closed_at is not None
            if i.status == "rejected":
                assert i.rejected_at is not None
            assert i.status != "reported" or i.triaged_at is None or i.type

    @invariant()
    def timelines_verify(self) -> None:
        for i in Incident.objects.all():
            assert timeline.verify(i) is None, i.ref
            assert i.timeline_seq == i.timeline.count()
            # the version counts the entries people wrote; the system's own (SLA warnings,
            # deliveries) leave it alone
            assert i.version == i.timeline.exclude(actor__isnull=True).count()


@pytest.mark.django_db
def test_random_service_calls_keep_the_invariants(
    admin, manager, member, member2, stakeholder, other_stakeholder
):
    IncidentMachine.people = {
        "admin": admin,
        "manager": manager,
        "member": member,
        "member2": member2,
        "stakeholder": stakeholder,
        "other_stakeholder": other_stakeholder,
    }
    run_state_machine_as_test(
        IncidentMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
