"""The lifecycle table, checked pair by pair without a database."""

from __future__ import annotations

import itertools

import pytest

from incidentdesk.core.errors import Conflict
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.lifecycle import Status

S = Status


@pytest.fixture(autouse=True)
def _policy():
    """These tests need no database: the lifecycle is pure."""


LEGAL = {
    (S.REPORTED, S.TRIAGED),
    (S.REPORTED, S.REJECTED),
    (S.TRIAGED, S.INVESTIGATING),
    (S.TRIAGED, S.IDENTIFIED),
    (S.TRIAGED, S.MONITORING),
    (S.TRIAGED, S.RESOLVED),
    (S.TRIAGED, S.REJECTED),
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),
    (S.INVESTIGATING, S.RESOLVED),
    (S.INVESTIGATING, S.REJECTED),
    (S.IDENTIFIED, S.INVESTIGATING),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.RESOLVED),
    (S.IDENTIFIED, S.REJECTED),
    (S.MONITORING, S.INVESTIGATING),
    (S.MONITORING, S.IDENTIFIED),
    (S.MONITORING, S.RESOLVED),
    (S.MONITORING, S.REJECTED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.INVESTIGATING),
    (S.CLOSED, S.INVESTIGATING),
    (S.REJECTED, S.REPORTED),
    (S.REJECTED, S.INVESTIGATING),
}
ALL_PAIRS = list(itertools.product(Status, Status))


def test_table_is_exactly_the_designed_transitions():
    table = {(src, dst) for src, targets in lifecycle.TRANSITIONS.items() for dst in targets}
    assert table == LEGAL
    assert set(lifecycle.TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("src", "dst"), sorted(LEGAL))
def test_legal_transition_returns_target(src, dst):
    assert lifecycle.check_transition(src.value, dst.value) is dst


@pytest.mark.parametrize(("src", "dst"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_is_a_conflict_naming_the_allowed_statuses(src, dst):
    with pytest.raises(Conflict) as caught:
        lifecycle.check_transition(src.value, dst.value)
    allowed = ", ".join(sorted(lifecycle.TRANSITIONS[src]))
    assert caught.value.status_code == 409
    assert caught.value.detail == (
        f"An incident that is {src} cannot become {dst}; allowed from {src}: {allowed}."
    )


def test_no_status_moves_to_itself():
    assert all(s not in lifecycle.TRANSITIONS[s] for s in Status)


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        lifecycle.check_transition("reported", "done")


def test_groups_partition_the_statuses():
    assert set(Status) == lifecycle.OPEN | lifecycle.FINISHED
    assert not lifecycle.OPEN & lifecycle.FINISHED
    assert lifecycle.MANUAL_STATUSES <= lifecycle.WORKING


def test_every_status_not_set_by_hand_has_its_own_action():
    assert set(Status) - lifecycle.MANUAL_STATUSES == set(lifecycle.ACTION_FOR_STATUS)


def test_reopen_goes_back_to_investigating_once_categorized():
    assert lifecycle.reopen_target("resolved", True) is S.INVESTIGATING
    assert lifecycle.reopen_target("rejected", False) is S.REPORTED
