"""The six steps of the policy's Incident Response Process, computed from the timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import OuterRef, Subquery

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


# the entries the steps read in full: people's actions, bounded by what people do. Deliveries,
# thousands after one public update, are read only as the first one of each sort (StepFacts).
STEP_KINDS = (
    "reported", "acknowledged", "categorized", "info_requested", "info_provided", "note",
    "manager_notified", "public_update", "stakeholders_notified", "resolved", "reopened",
    "resolution_notified", "closed", "review_published", "review_waived",
)  # fmt: skip


@dataclass
class StepFacts:
    """What the steps need of one incident's timeline: its entries of STEP_KINDS in order,
    and the first deliveries to the team, to the stakeholders and since the last resolution."""

    entries: list[TimelineEntry]
    internal_delivery: TimelineEntry | None = None
    external_delivery: TimelineEntry | None = None
    resolution_delivery: TimelineEntry | None = None


def _entry_id(seq_field: str) -> Subquery:
    rows = TimelineEntry.objects.filter(incident=OuterRef("pk"), seq=OuterRef(seq_field))
    return Subquery(rows.values("id")[:1])


def step_facts(incidents: list[Incident]) -> dict[int, StepFacts]:
    """StepFacts for each incident in three queries, however long the timelines: the first
    deliveries are the ones the incident keeps the seqs of (`timeline.note_delivery`)."""
    ids = [i.pk for i in incidents]
    facts = {pk: StepFacts([]) for pk in ids}
    for entry in TimelineEntry.objects.filter(incident__in=ids, kind__in=STEP_KINDS).order_by(
        "incident_id", "seq"
    ):
        facts[entry.incident_id].entries.append(entry)
    firsts = (
        Incident.objects.filter(pk__in=ids)
        .annotate(
            internal=_entry_id("team_delivery_seq"),
            external=_entry_id("stakeholder_delivery_seq"),
            resolution=_entry_id("resolution_delivery_seq"),
        )
        .values_list("pk", "internal", "external", "resolution")
    )
    wanted = {pk: found for pk, *found in firsts}
    found = TimelineEntry.objects.in_bulk([i for row in wanted.values() for i in row if i])
    for pk, (internal, external, resolution) in wanted.items():
        fact = facts[pk]
        fact.internal_delivery = found.get(internal) if internal else None
        fact.external_delivery = found.get(external) if external else None
        fact.resolution_delivery = found.get(resolution) if resolution else None
    return facts


def policy_steps(incident: Incident, facts: StepFacts | None = None) -> list[StepState]:
    """Done / pending / late for each step, with the entry that completed it.

    A step done after its target is "late"; a step not done and past its target is "late" too;
    `done_at` tells the two apart.
    """
    if facts is None:
        facts = step_facts([incident])[incident.pk]
    entries = facts.entries
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

    internal = _earliest(_first(entries, {"note", "manager_notified"}), facts.internal_delivery)
    external = _earliest(
        _first(entries, {"public_update", "stakeholders_notified"}), facts.external_delivery
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
        delivery = facts.resolution_delivery
        if delivery is not None and delivery.at < resolved.at:
            delivery = None
        announced = _earliest(announced, delivery)
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


def _earliest(*found: TimelineEntry | None) -> TimelineEntry | None:
    present = [e for e in found if e is not None]
    return min(present, key=lambda e: e.seq) if present else None
