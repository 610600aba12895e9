"""The six steps of the policy's Incident Response Process, computed from the timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from incidentdesk.core import clock

from .lifecycle import Status
from .models import Incident, TimelineEntry
from .selectors import policy_for, triage_due_at

STEP_NAMES = (
    ("assess", "Assess the incident and collect all the information"),
    ("categorize", "Categorize: type, severity level and impacted stakeholders"),
    ("communicate", "Follow the communication plan: inform the manager and the stakeholders"),
    ("resolve", "Follow and resolve the incident based on the guidelines"),
    ("inform", "Inform the team and stakeholders about the resolution"),
    ("document", "Document all actions taken during the incident"),
)

DONE, PENDING, LATE, NOT_APPLICABLE = "done", "pending", "late", "not_applicable"


@dataclass
class StepState:
    number: int
    key: str
    name: str
    state: str
    done_at: dt.datetime | None = None
    entry_seq: int | None = None
    due_at: dt.datetime | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _first(
    entries: list[TimelineEntry], kinds: set[str], after: dt.datetime | None = None
) -> TimelineEntry | None:
    for entry in entries:
        if entry.kind in kinds and (after is None or entry.at >= after):
            return entry
    return None


def _state(entry: TimelineEntry | None, due: dt.datetime | None, now: dt.datetime) -> str:
    if entry is not None:
        return LATE if due is not None and entry.at > due else DONE
    return LATE if due is not None and now > due else PENDING


def policy_steps(incident: Incident, entries: list[TimelineEntry] | None = None) -> list[StepState]:
    """Done / pending / late for each step, with the entry that completed it.

    A step done after its target is "late"; a step not done and past its target is "late" too;
    `done_at` tells the two apart.
    """
    if entries is None:
        entries = list(incident.timeline.order_by("seq"))
    now = clock.now()
    policy = policy_for(incident)
    sla = policy.sla_for(incident.severity or None, incident.type)
    steps = [StepState(i + 1, key, name, PENDING) for i, (key, name) in enumerate(STEP_NAMES)]
    assess, categorize, communicate, resolve, inform, document = steps

    ack = _first(entries, {"acknowledged"})
    assess.due_at = incident.ack_due_at
    open_questions = sum(1 for e in entries if e.kind == "info_requested") - sum(
        1 for e in entries if e.kind == "info_provided"
    )
    if open_questions > 0:
        assess.state = (
            LATE if incident.ack_due_at and now > incident.ack_due_at and ack is None else PENDING
        )
        assess.detail = "waiting for reporter"
    else:
        assess.state = _state(ack, incident.ack_due_at, now)
    _mark(assess, ack if open_questions <= 0 else None)

    cat = _first(entries, {"categorized"})
    categorize.due_at = triage_due_at(incident)
    categorize.state = _state(cat, categorize.due_at, now)
    _mark(categorize, cat)

    internal = _earliest(
        _first(entries, {"note", "manager_notified"}),
        _first_delivery(entries, audiences={"manager", "team"}),
    )
    external = _earliest(
        _first(entries, {"public_update", "stakeholders_notified"}),
        _first_delivery(entries, audiences={"stakeholders", "subscribers"}),
    )
    communicate.due_at = incident.reported_at + sla.first_update
    if internal and external:
        last = max(internal, external, key=lambda e: e.at)
        communicate.state = _state(last, communicate.due_at, now)
        _mark(communicate, last)
    else:
        communicate.state = _state(None, communicate.due_at, now)
        communicate.detail = "waiting for " + " and ".join(
            part
            for part, done in (("internal discussion", internal), ("stakeholder update", external))
            if not done
        )

    resolved = _last_resolution(entries)
    resolve.due_at = incident.resolve_due_at
    resolve.state = _state(resolved, incident.resolve_due_at, now)
    _mark(resolve, resolved)
    if resolved is not None and resolved.data.get("open_tasks"):
        resolve.detail = (
            f"resolved with {len(resolved.data['open_tasks'])} guideline task(s) left open"
        )

    if resolved is not None:
        announced = _first(
            [e for e in entries if e.kind != "public_update" or e.data.get("status") == "resolved"],
            {"public_update", "resolution_notified"},
            after=resolved.at,
        )
        announced = _earliest(
            announced, _first_delivery(entries, triggers={"resolved"}, after=resolved.at)
        )
        inform.due_at = resolved.at + sla.first_update
        inform.state = _state(announced, inform.due_at, now)
        _mark(inform, announced)

    closed = _first(entries, {"closed"})
    severity = policy.severities.get(incident.severity) if incident.severity else None
    if closed is not None and severity is not None and severity.review_required:
        # a required post-incident review is part of the documentation
        reviewed = _first(entries, {"review_published", "review_waived"})
        closed = max(closed, reviewed, key=lambda e: e.at) if reviewed else None
        if reviewed is None:
            document.detail = "waiting for the post-incident review"
    document.state = DONE if closed else PENDING
    _mark(document, closed)

    if incident.status == Status.REJECTED:
        for step in steps[1:]:
            if step.state != DONE:
                step.state, step.due_at, step.detail = (
                    NOT_APPLICABLE,
                    None,
                    "rejected: " + incident.rejection_reason,
                )
    return steps


def _last_resolution(entries: list[TimelineEntry]) -> TimelineEntry | None:
    resolved = None
    for entry in entries:
        if entry.kind == "resolved":
            resolved = entry
        elif entry.kind == "reopened":
            resolved = None
    return resolved


def _mark(step: StepState, entry: TimelineEntry | None) -> None:
    if entry is not None:
        step.done_at, step.entry_seq = entry.at, entry.seq


def _first_delivery(
    entries: list[TimelineEntry],
    *,
    audiences: set[str] | None = None,
    triggers: set[str] | None = None,
    after: dt.datetime | None = None,
) -> TimelineEntry | None:
    """The first message delivered (by the communication plan) to one of `audiences` or for
    one of `triggers`."""
    for entry in entries:
        if entry.kind != "delivered" or (after is not None and entry.at < after):
            continue
        if audiences is not None and entry.data.get("audience") not in audiences:
            continue
        if triggers is not None and entry.data.get("trigger") not in triggers:
            continue
        return entry
    return None


def _earliest(*found: TimelineEntry | None) -> TimelineEntry | None:
    present = [e for e in found if e is not None]
    return min(present, key=lambda e: e.seq) if present else None
