"""/api/v1/incidents: the incident lifecycle over JSON. Thin: every write is a service call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.permissions import can
from incidentdesk.core.api import Instant
from incidentdesk.core.text import Line, Text

from . import roles, services, timeline_window
from .kinds import TEAM_ONLY_INCIDENT_FIELDS, Audience, team_view
from .models import Incident, Task
from .queue_order import SORTS, keyset_page
from .selectors import (
    IncidentFilters,
    email_shown_to,
    incident_get_for,
    incident_list_for,
)
from .steps import policy_steps

router = Router(tags=["incidents"])


class In(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(
        None, description="The incident's version you saw; 409 if it has changed."
    )


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")
    title: Line
    description: Text = ""
    started_at: Instant | None = None
    organisation: Line | None = None


class CategorizeIn(In):
    type: str
    severity: str
    impact: str
    reason: Text = ""


class AssignIn(In):
    assignee: str | None


class RoleIn(In):
    role: Line = Field(description="lead (the incident lead) or comms (the communications lead)")
    to: Line | None = Field(description="The team member's e-mail address; null: nobody.")
    note: Text = Field("", description="A note for the one taking over, kept in the timeline.")


class StatusIn(In):
    status: str


class NoteIn(In):
    body: Text


class UpdateIn(In):
    status: str
    body: Text


class QuestionIn(In):
    question: Text


class AnswerIn(In):
    answer: Text
    request: int | None = None


class ResolveIn(In):
    summary: Text


class RejectIn(In):
    reason: Text
    duplicate_of: str | None = None


class ReasonIn(In):
    reason: Text


class TaskIn(In):
    state: str
    reason: Text = ""


class IncidentOut(Schema):
    ref: str
    title: str
    description: str
    status: str
    type: str | None
    severity: str | None
    impact: str | None
    private: bool
    assignee: str | None = Field(description="The incident lead (the team's only).")
    comms_lead: str | None = Field(description="The communications lead (the team's only).")
    reporter: str | None
    organisation: str | None
    affected_organisations: list[str]
    started_at: dt.datetime | None
    reported_at: dt.datetime
    acknowledged_at: dt.datetime | None
    triaged_at: dt.datetime | None
    first_update_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    rejected_at: dt.datetime | None
    ack_due_at: dt.datetime | None
    update_due_at: dt.datetime | None
    resolve_due_at: dt.datetime | None
    resolution_summary: str
    rejection_reason: str
    duplicate_of: str | None
    policy_version: int
    version: int
    updated_at: dt.datetime


class CategorizeOut(Schema):
    incident: IncidentOut
    suggested_severity: str
    suggested_impact: str | None
    overridden: bool


class IncidentPage(Schema):
    items: list[IncidentOut]
    next: str | None


class EntryOut(Schema):
    seq: int
    kind: str
    label: str
    actor: str
    at: dt.datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str


class TimelineOut(Schema):
    items: list[EntryOut]
    next: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class StepOut(Schema):
    number: int
    key: str
    name: str
    state: str
    done_at: dt.datetime | None
    entry_seq: int | None
    due_at: dt.datetime | None
    detail: str


class StepsOut(Schema):
    items: list[StepOut]


class TaskOut(Schema):
    id: int
    position: int
    title: str
    state: str
    reason: str
    done_by: str | None
    done_at: dt.datetime | None


class TasksOut(Schema):
    items: list[TaskOut]


class QuestionOut(Schema):
    id: int
    question: str
    asked_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None


class PublicUpdateOut(Schema):
    incident: str
    status: str
    body: str
    posted_at: dt.datetime
    seq: int


def incident_out(
    incident: Incident, user: Any, *, affected: list[str] | None = None
) -> dict[str, Any]:
    """`affected`: the affected organisations' names when the caller knows them already."""
    internal = can(user, "incident.view_internal")
    return {
        "ref": incident.ref,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "type": incident.type or None,
        "severity": incident.severity or None,
        "impact": incident.impact or None,
        "private": incident.private,
        **{
            name: _email(getattr(incident, name)) if internal else None
            for name in TEAM_ONLY_INCIDENT_FIELDS
        },
        "reporter": email_shown_to(user, incident.reporter),
        "organisation": incident.reporter_org.name if incident.reporter_org else None,
        "affected_organisations": sorted(
            affected if affected is not None else (o.name for o in incident.affected_orgs.all())
        ),
        **{
            name: getattr(incident, name)
            for name in (
                "started_at",
                "reported_at",
                "acknowledged_at",
                "triaged_at",
                "first_update_at",
                "resolved_at",
                "closed_at",
                "rejected_at",
                "ack_due_at",
                "update_due_at",
                "resolve_due_at",
                "resolution_summary",
                "rejection_reason",
                "version",
                "updated_at",
            )
        },
        "duplicate_of": f"INC-{incident.duplicate_of_id}" if incident.duplicate_of_id else None,
        "policy_version": incident.policy_version_id,
    }


def _email(user: Any) -> str | None:
    return user.email if user is not None else None


def _task_out(task: Task, audience: Audience = Audience.TEAM) -> dict[str, Any]:
    """A guideline step; who did it is the team's to know."""
    return {
        "id": task.pk,
        "position": task.position,
        "title": task.title,
        "state": task.state,
        "reason": task.reason,
        "done_by": task.done_by.email if task.done_by and audience == Audience.TEAM else None,
        "done_at": task.done_at,
    }


def _fresh(request: HttpRequest, ref: str) -> dict[str, Any]:
    return incident_out(incident_get_for(actor(request), ref), actor(request))


@router.post("/incidents", response={201: IncidentOut}, summary="Report an incident")
def report(request: HttpRequest, payload: ReportIn) -> Status:
    incident = services.incident_report(by=actor(request), source="api", **payload.dict())
    # a new report affects the organisation it was reported for, and no other yet
    org = incident.reporter_org
    return Status(201, incident_out(incident, actor(request), affected=[org.name] if org else []))


@router.get("/incidents", response=IncidentPage, summary="List incidents you may see")
def list_incidents(
    request: HttpRequest,
    status: str | None = None,
    type: str | None = None,
    severity: str | None = None,
    assignee: str | None = None,
    mine: bool = Query(False, description="Only incidents you lead or are communications lead of."),
    q: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    filters = IncidentFilters(
        status=status, type=type, severity=severity, assignee=assignee, mine=mine, q=q
    )
    qs = (
        incident_list_for(actor(request), filters)
        .select_related("assignee", "comms_lead", "reporter", "reporter_org")
        .prefetch_related("affected_orgs")
    )
    items, next_cursor = keyset_page(qs, SORTS["newest"], cursor, limit)
    return {"items": [incident_out(i, actor(request)) for i in items], "next": next_cursor}


@router.get("/incidents/{ref}", response=IncidentOut)
def get_incident(request: HttpRequest, ref: str) -> dict[str, Any]:
    return _fresh(request, ref)


@router.post("/incidents/{ref}/acknowledge", response=IncidentOut)
def acknowledge(request: HttpRequest, ref: str, version: int | None = None) -> dict[str, Any]:
    services.incident_acknowledge(by=actor(request), incident=ref, expected_version=version)
    return _fresh(request, ref)


@router.post("/incidents/{ref}/categorize", response=CategorizeOut)
def categorize(request: HttpRequest, ref: str, payload: CategorizeIn) -> dict[str, Any]:
    result = services.incident_categorize(
        by=actor(request),
        incident=ref,
        type=payload.type,
        severity=payload.severity,
        impact=payload.impact,
        reason=payload.reason,
        expected_version=payload.version,
    )
    return {
        "incident": _fresh(request, ref),
        "suggested_severity": result.suggested_severity,
        "suggested_impact": result.suggested_impact,
        "overridden": result.overridden,
    }


@router.post("/incidents/{ref}/assign", response=IncidentOut)
def assign(request: HttpRequest, ref: str, payload: AssignIn) -> dict[str, Any]:
    roles.incident_assign(
        by=actor(request), incident=ref, assignee=payload.assignee, expected_version=payload.version
    )
    return _fresh(request, ref)


@router.post("/incidents/{ref}/roles", response=IncidentOut, summary="Hand over a role")
def hand_over(request: HttpRequest, ref: str, payload: RoleIn) -> dict[str, Any]:
    roles.incident_hand_over(
        by=actor(request),
        incident=ref,
        role=payload.role,
        to=payload.to,
        note=payload.note,
        expected_version=payload.version,
    )
    return _fresh(request, ref)


@router.post("/incidents/{ref}/status", response=IncidentOut)
def set_status(request: HttpRequest, ref: str, payload: StatusIn) -> dict[str, Any]:
    services.incident_set_status(
        by=actor(request), incident=ref, status=payload.status, expected_version=payload.version
    )
    return _fresh(request, ref)


@router.post("/incidents/{ref}/note", response={201: EntryOut})
def note(request: HttpRequest, ref: str, payload: NoteIn) -> Status:
    entry = services.incident_add_note(
        by=actor(request), incident=ref, body=payload.body, expected_version=payload.version
    )
    return Status(201, team_view(entry).as_dict())


@router.post(
    "/incidents/{ref}/updates", response={201: PublicUpdateOut}, summary="Post a public update"
)
def post_update(request: HttpRequest, ref: str, payload: UpdateIn) -> Status:
    update = services.incident_post_update(
        by=actor(request),
        incident=ref,
        status=payload.status,
        body=payload.body,
        expected_version=payload.version,
    )
    return Status(
        201,
        {
            "incident": ref.upper(),
            "status": update.status,
            "body": update.body,
            "posted_at": update.posted_at,
            "seq": update.seq,
        },
    )


@router.post("/incidents/{ref}/request-info", response={201: QuestionOut})
def request_info(request: HttpRequest, ref: str, payload: QuestionIn) -> Status:
    question = services.incident_request_info(
        by=actor(request), incident=ref, question=payload.question, expected_version=payload.version
    )
    return Status(201, question)


@router.post("/incidents/{ref}/provide-info", response=QuestionOut)
def provide_info(request: HttpRequest, ref: str, payload: AnswerIn) -> Any:
    return services.incident_provide_info(
        by=actor(request),
        incident=ref,
        answer=payload.answer,
        request_id=payload.request,
        expected_version=payload.version,
    )


@router.post("/incidents/{ref}/resolve", response=IncidentOut)
def resolve(request: HttpRequest, ref: str, payload: ResolveIn) -> dict[str, Any]:
    services.incident_resolve(
        by=actor(request), incident=ref, summary=payload.summary, expected_version=payload.version
    )
    return _fresh(request, ref)


@router.post("/incidents/{ref}/close", response=IncidentOut)
def close(request: HttpRequest, ref: str, version: int | None = None) -> dict[str, Any]:
    services.incident_close(by=actor(request), incident=ref, expected_version=version)
    return _fresh(request, ref)


@router.post("/incidents/{ref}/reject", response=IncidentOut)
def reject(request: HttpRequest, ref: str, payload: RejectIn) -> dict[str, Any]:
    services.incident_reject(
        by=actor(request),
        incident=ref,
        reason=payload.reason,
        duplicate_of=payload.duplicate_of,
        expected_version=payload.version,
    )
    return _fresh(request, ref)


@router.post("/incidents/{ref}/reopen", response=IncidentOut)
def reopen(request: HttpRequest, ref: str, payload: ReasonIn) -> dict[str, Any]:
    services.incident_reopen(
        by=actor(request), incident=ref, reason=payload.reason, expected_version=payload.version
    )
    return _fresh(request, ref)


@router.get(
    "/incidents/{ref}/timeline",
    response=TimelineOut,
    summary="The incident's timeline as you may see it (the team: every entry and its hash)",
    description=(
        "Oldest first, a page at a time: follow `next` with `?cursor=` until it is null. "
        f"`limit` is at most {timeline_window.API_LIMIT_MAX} (default "
        f"{timeline_window.API_LIMIT}). Repeat `kind` to read only those kinds, e.g. "
        "`?kind=note&kind=status_changed`; an unknown kind is a 422."
    ),
)
def get_timeline(
    request: HttpRequest,
    ref: str,
    cursor: str | None = None,
    limit: int = Query(timeline_window.API_LIMIT, ge=1, le=timeline_window.API_LIMIT_MAX),
    kind: list[str] = Query(None),  # noqa: B008
) -> dict[str, Any]:
    user = actor(request)
    incident = incident_get_for(user, ref)
    kinds = timeline_window.check_kinds(kind) if kind else None
    items, next_cursor = timeline_window.entries_page_for(
        user, incident, kinds=kinds, cursor=cursor, limit=limit
    )
    return {"items": [v.as_dict() for v in items], "next": next_cursor}


@router.get("/incidents/{ref}/steps", response=StepsOut)
def get_steps(request: HttpRequest, ref: str) -> dict[str, Any]:
    incident = incident_get_for(actor(request), ref)
    return {"items": [s.as_dict() for s in policy_steps(incident)]}


@router.get("/incidents/{ref}/tasks", response=TasksOut)
def get_tasks(request: HttpRequest, ref: str) -> dict[str, Any]:
    """The guideline's checklist is the team's working notes (reasons, who did what): a
    stakeholder gets an empty list."""
    incident = incident_get_for(actor(request), ref)
    if not can(actor(request), "incident.view_internal"):
        return {"items": []}
    return {"items": [_task_out(t) for t in incident.tasks.select_related("done_by")]}


@router.post("/incidents/{ref}/tasks/{task_id}", response=TaskOut)
def update_task(request: HttpRequest, ref: str, task_id: int, payload: TaskIn) -> dict[str, Any]:
    task = services.incident_task_update(
        by=actor(request),
        incident=ref,
        task_id=task_id,
        state=payload.state,
        reason=payload.reason,
        expected_version=payload.version,
    )
    return _task_out(task)
