"""The incident lifecycle as data: statuses and the transitions between them. No ORM here."""

from __future__ import annotations

from enum import StrEnum

from incidentdesk.core.errors import Conflict


class Status(StrEnum):
    REPORTED = "reported"
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"


# every status in words, in the order of the lifecycle: pages show these, never the codes
STATUS_LABELS: dict[Status, str] = {
    Status.REPORTED: "Reported",
    Status.TRIAGED: "Triaged",
    Status.INVESTIGATING: "Investigating",
    Status.IDENTIFIED: "Identified",
    Status.MONITORING: "Monitoring",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
    Status.REJECTED: "Rejected",
}


def status_label(code: str) -> str:
    """The status in words; an unknown code is shown as words from its letters."""
    return STATUS_LABELS.get(code, code.replace("_", " ").capitalize())  # type: ignore[call-overload]


S = Status
WORKING = frozenset({S.TRIAGED, S.INVESTIGATING, S.IDENTIFIED, S.MONITORING})
OPEN = frozenset({S.REPORTED} | WORKING)
FINISHED = frozenset({S.RESOLVED, S.CLOSED, S.REJECTED})

# from -> the statuses it may move to
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.REPORTED: frozenset({S.TRIAGED, S.REJECTED}),
    S.TRIAGED: frozenset({S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.REJECTED}),
    S.INVESTIGATING: frozenset({S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.REJECTED}),
    S.IDENTIFIED: frozenset({S.INVESTIGATING, S.MONITORING, S.RESOLVED, S.REJECTED}),
    S.MONITORING: frozenset({S.INVESTIGATING, S.IDENTIFIED, S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset({S.CLOSED, S.INVESTIGATING}),
    S.CLOSED: frozenset({S.INVESTIGATING}),
    S.REJECTED: frozenset({S.REPORTED, S.INVESTIGATING}),
}

# statuses reached through set_status; the others have an action of their own
MANUAL_STATUSES = frozenset({S.INVESTIGATING, S.IDENTIFIED, S.MONITORING})

ACTION_FOR_STATUS = {
    S.TRIAGED: "categorize",
    S.RESOLVED: "resolve",
    S.CLOSED: "close",
    S.REJECTED: "reject",
    S.REPORTED: "reopen",
}


def allowed_from(current: Status) -> frozenset[Status]:
    return TRANSITIONS[current]


def check_transition(current: str, target: str) -> Status:
    """Return the target status, or raise Conflict naming the statuses allowed from here."""
    cur, tgt = Status(current), Status(target)
    allowed = TRANSITIONS[cur]
    if tgt not in allowed:
        names = ", ".join(sorted(allowed)) or "none"
        raise Conflict(
            f"An incident that is {cur} cannot become {tgt}; allowed from {cur}: {names}."
        )
    return tgt


def reopen_target(current: str, was_categorized: bool) -> Status:
    return S.INVESTIGATING if was_categorized else S.REPORTED


def manual_choices(current: Status) -> list[tuple[Status, str, bool]]:
    """The statuses a member may pick by hand, in the order of the lifecycle: (status, label,
    selected). The current status leads the choice when it is one of them."""
    allowed = allowed_from(current) & MANUAL_STATUSES
    return [
        (s, STATUS_LABELS[s], s == current)
        for s in Status
        if s in allowed or (s == current and s in MANUAL_STATUSES)
    ]
