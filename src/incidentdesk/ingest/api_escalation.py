"""/api/v1/escalations and an incident's escalation: how alerts page people, where an
incident's paging stands, and acknowledging it (which stops the paging). Thin: the write is
`escalation_acknowledge`, the reads are selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.permissions import require
from incidentdesk.incidents.selectors import incident_get_for
from incidentdesk.policy.schema import EscalationPolicy, duration_in_words
from incidentdesk.policy.selectors import active_policy

from . import selectors, services

router = Router(tags=["escalation"])


class WorkingHoursOut(Schema):
    time_zone: str
    # local wall-clock times in `time_zone`, "09:00"
    start: str
    end: str
    days: list[str]


class LevelOut(Schema):
    level: int
    schedule: str | None
    people: list[str]
    managers: bool
    delay_seconds: int
    delay: str


class EscalationPolicyOut(Schema):
    name: str
    severities: list[str]
    sources: list[str]
    working_hours: WorkingHoursOut | None
    levels: list[LevelOut]
    repeats: int
    repeat_after_seconds: int


class PageOut(Schema):
    at: dt.datetime
    level: int
    round: int
    people: list[str]
    summary: str


class IncidentEscalationOut(Schema):
    incident: str
    state: str
    policy: EscalationPolicyOut | None
    level: int
    round: int
    next_step_at: dt.datetime | None
    paged_at: dt.datetime | None
    stopped_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    assignee: str | None
    pages: list[PageOut]


def _policy_out(rule: EscalationPolicy) -> dict[str, Any]:
    hours = rule.working_hours
    return {
        "name": rule.name,
        "severities": rule.severities,
        "sources": rule.sources,
        "working_hours": (
            {
                "time_zone": hours.time_zone,
                "start": f"{hours.start:%H:%M}",
                "end": f"{hours.end:%H:%M}",
                "days": hours.days,
            }
            if hours is not None
            else None
        ),
        "levels": [
            {
                "level": number,
                "schedule": level.schedule,
                "people": level.people,
                "managers": level.managers,
                "delay_seconds": int(level.delay.total_seconds()) if level.delay else 0,
                "delay": duration_in_words(level.delay) if level.delay else "at once",
            }
            for number, level in enumerate(rule.levels, start=1)
        ],
        "repeats": rule.repeats,
        "repeat_after_seconds": int(rule.repeat_after.total_seconds()),
    }


@router.get(
    "/escalations",
    response=list[EscalationPolicyOut],
    summary="The escalation policies: who is paged, level by level, for which incidents",
)
def list_escalations(request: HttpRequest) -> list[dict[str, Any]]:
    require(actor(request), "oncall.view")
    _, policy = active_policy()
    return [_policy_out(rule) for rule in policy.escalation]


def _state_out(ref: str, request: HttpRequest) -> dict[str, Any]:
    by = actor(request)
    incident = incident_get_for(by, ref)  # 404 for an incident the caller may not see
    require(by, "oncall.view")
    found = selectors.escalation_state(incident)
    escalation = found.escalation
    return {
        "incident": incident.ref,
        "state": found.state,
        "policy": _policy_out(found.rule) if found.rule is not None else None,
        "level": escalation.level if escalation else 0,
        "round": escalation.round if escalation else 0,
        "next_step_at": escalation.due_at if escalation else None,
        "paged_at": escalation.paged_at if escalation else None,
        "stopped_at": escalation.stopped_at if escalation else None,
        "acknowledged_at": incident.acknowledged_at,
        "assignee": incident.assignee.email if incident.assignee else None,
        "pages": [
            {
                "at": entry.at,
                "level": int(entry.data.get("level", 0)),
                "round": int(entry.data.get("round", 0)),
                "people": list(entry.data.get("people", [])),
                "summary": str(entry.data.get("summary", "")),
            }
            for entry in found.pages
        ],
    }


@router.get(
    "/incidents/{ref}/escalation",
    response=IncidentEscalationOut,
    summary="Where an incident's paging stands: its policy, the level reached, the pages sent",
)
def incident_escalation(request: HttpRequest, ref: str) -> dict[str, Any]:
    return _state_out(ref, request)


@router.post(
    "/incidents/{ref}/escalation/acknowledge",
    response=IncidentEscalationOut,
    summary="Acknowledge an incident that is paging people: its paging stops at once",
)
def acknowledge_escalation(request: HttpRequest, ref: str) -> dict[str, Any]:
    services.escalation_acknowledge(by=actor(request), incident=ref)
    return _state_out(ref, request)
