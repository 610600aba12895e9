"""Policy conformance: for each of the six steps, was it done, and on time against the policy's
targets? Per incident and in aggregate. Derived from `incidents.steps.policy_steps`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.incidents.steps import (
    DONE,
    LATE,
    NOT_APPLICABLE,
    PENDING,
    STEP_NAMES,
    StepFacts,
    policy_steps,
)
from incidentdesk.policy.schema import Policy, format_duration

# what each step's target measures, and which policy figure sets it
STEP_TARGETS: dict[int, tuple[str, str]] = {
    1: ("acknowledged within {acknowledge}", "reported to acknowledged"),
    2: ("categorized within {triage}", "reported to categorized"),
    3: (
        "manager informed and stakeholders notified within {first_update}",
        "reported to the later of the internal discussion and the first stakeholder update",
    ),
    4: ("resolved within {resolve}", "reported to resolved"),
    5: ("resolution announced within {first_update}", "resolved to resolution announced"),
    6: ("documented: closed with its review done", "resolved to closed"),
}


@dataclass(frozen=True)
class StepOutcome:
    number: int
    key: str
    state: str
    on_time: bool
    missed: bool
    done_at: str | None
    due_at: str | None
    detail: str


def target_text(number: int, policy: Policy, severity: str | None) -> str:
    sla = policy.sla_for(severity or None)
    return STEP_TARGETS[number][0].format(
        acknowledge=format_duration(sla.acknowledge),
        first_update=format_duration(sla.first_update),
        resolve=format_duration(sla.resolve),
        triage=format_duration(policy.intake.triage),
    )


def incident_conformance(incident: Incident, facts: StepFacts | None = None) -> list[StepOutcome]:
    """A step is missed when it was late, or still not done once the incident is closed."""
    closed = incident.status == Status.CLOSED
    outcomes = []
    for step in policy_steps(incident, facts):
        missed = step.state == LATE or (step.state == PENDING and closed)
        outcomes.append(
            StepOutcome(
                number=step.number,
                key=step.key,
                state=step.state,
                on_time=step.state == DONE,
                missed=missed,
                done_at=step.done_at.isoformat() if step.done_at else None,
                due_at=step.due_at.isoformat() if step.due_at else None,
                detail=step.detail,
            )
        )
    return outcomes


def aggregate(incidents: list[Incident], facts: dict[int, StepFacts]) -> dict[str, Any]:
    """For each step and severity: on time / judged, with the incidents that missed it.
    A step is judged once it is done or missed; one still running is not counted yet."""
    table: dict[int, dict[str, dict[str, Any]]] = {n: {} for n in range(1, 7)}
    missed: dict[int, list[dict[str, str]]] = {n: [] for n in range(1, 7)}
    for incident in incidents:
        policy = policy_for(incident)
        severity = incident.severity or "uncategorized"
        for outcome in incident_conformance(incident, facts.get(incident.pk)):
            if outcome.state == NOT_APPLICABLE or not (
                outcome.on_time or outcome.missed or outcome.done_at
            ):
                continue
            row = table[outcome.number].setdefault(
                severity,
                {
                    "severity": severity,
                    "target": target_text(outcome.number, policy, incident.severity),
                    "on_time": 0,
                    "done": 0,
                    "total": 0,
                },
            )
            row["total"] += 1
            row["on_time"] += outcome.on_time
            row["done"] += outcome.done_at is not None
            if outcome.missed:
                missed[outcome.number].append(
                    {"ref": incident.ref, "title": incident.title, "state": outcome.state}
                )
    steps = []
    for number, (key, name) in enumerate(STEP_NAMES, start=1):
        rows = [table[number][k] for k in sorted(table[number])]
        on_time = sum(r["on_time"] for r in rows)
        total = sum(r["total"] for r in rows)
        for row in rows:
            row["text"] = (
                f"{row['target']} for {row['severity']}: {row['on_time']} of {row['total']}"
            )
            row["rate"] = row["on_time"] / row["total"] if row["total"] else None
        steps.append(
            {
                "number": number,
                "key": key,
                "name": name,
                "spans": STEP_TARGETS[number][1],
                "on_time": on_time,
                "total": total,
                "rate": on_time / total if total else None,
                "by_severity": rows,
                "missed": missed[number],
            }
        )
    return {"label": "Policy conformance", "steps": steps}


__all__ = ["DONE", "LATE", "PENDING", "StepOutcome", "aggregate", "incident_conformance"]
