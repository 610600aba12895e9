"""/api/v1: post-incident reviews, action items and metrics. Thin: writes are service calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.accounts.api_auth import actor
from incidentdesk.core import clock
from incidentdesk.core.text import Line, Text

from . import services
from .blameless import check
from .conformance import incident_conformance
from .insights import figures, parse_range
from .models import ActionItem, Review
from .selectors import (
    ActionFilters,
    action_items_for,
    local_date,
    review_for,
    review_requirement,
    team_names,
)

router = Router(tags=["reviews"])


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class PickIn(_In):
    seq: int
    note: Text = ""


class ReviewIn(_In):
    sections: dict[str, str]
    picks: list[PickIn] | None = None


class ReviewCommentIn(_In):
    body: Text
    section: str = ""


class WaiveIn(_In):
    reason: Text


class ActionItemIn(_In):
    title: Line
    kind: str
    owner: str = Field(description="E-mail of a member of the team")
    due_date: dt.date


class ActionItemPatch(_In):
    status: str | None = None
    owner: str | None = None
    due_date: dt.date | None = None


class FindingOut(Schema):
    section: str
    phrase: str
    suggestion: str


class RevisionOut(Schema):
    number: int
    saved_by: str | None
    saved_at: dt.datetime
    note: str
    sections: dict[str, str]


class ReviewCommentOut(Schema):
    id: int
    section: str
    body: str
    author: str | None
    at: dt.datetime


class ReviewOut(Schema):
    incident: str
    state: str
    required: bool
    due: dt.date | None
    waived: bool
    waiver_reason: str
    revision: int
    sections: dict[str, str]
    picks: list[dict[str, Any]]
    findings: list[FindingOut]
    comments: list[ReviewCommentOut]
    revisions: list[RevisionOut]


class ActionItemOut(Schema):
    id: int
    incident: str
    title: str
    kind: str
    owner: str
    due_date: dt.date
    status: str
    overdue: bool
    done_at: dt.datetime | None


class ActionItemList(Schema):
    items: list[ActionItemOut]


class RangeQuery(Schema):
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD, inclusive")
    to: str | None = Field(None, description="YYYY-MM-DD, inclusive")


def review_out(incident: Any, review: Review | None) -> dict[str, Any]:
    need = review_requirement(incident, review)
    if review is None:
        return {
            "incident": incident.ref,
            "state": "none",
            "required": need.required,
            "due": need.due,
            "waived": False,
            "waiver_reason": "",
            "revision": 0,
            "sections": {},
            "picks": [],
            "findings": [],
            "comments": [],
            "revisions": [],
        }
    return {
        "incident": incident.ref,
        "state": review.state,
        "required": need.required,
        "due": need.due,
        "waived": review.waived_at is not None,
        "waiver_reason": review.waiver_reason,
        "revision": review.revision,
        "sections": review.sections,
        "picks": review.picks,
        "findings": [f.__dict__ for f in check(review.sections, team_names())],
        "comments": [
            {
                "id": c.pk,
                "section": c.section,
                "body": c.body,
                "author": c.author.email if c.author else None,
                "at": c.at,
            }
            for c in review.comments.select_related("author")
        ],
        "revisions": [
            {
                "number": r.number,
                "saved_by": r.saved_by.email if r.saved_by else None,
                "saved_at": r.saved_at,
                "note": r.note,
                "sections": r.sections,
            }
            for r in review.revisions.select_related("saved_by")
        ],
    }


def _review(request: HttpRequest, ref: str) -> dict[str, Any]:
    incident, review = review_for(actor(request), ref)
    return review_out(incident, review)


def action_out(item: ActionItem, today: dt.date) -> dict[str, Any]:
    return {
        "id": item.pk,
        "incident": item.incident.ref,
        "title": item.title,
        "kind": item.kind,
        "owner": item.owner.email,
        "due_date": item.due_date,
        "status": item.status,
        "overdue": item.status in ("open", "in_progress") and item.due_date < today,
        "done_at": item.done_at,
    }


@router.get("/incidents/{ref}/review", response=ReviewOut, summary="The incident's review")
def get_review(request: HttpRequest, ref: str) -> dict[str, Any]:
    return _review(request, ref)


@router.post("/incidents/{ref}/review", response={201: ReviewOut}, summary="Start the review")
def start_review(request: HttpRequest, ref: str) -> Status:
    services.review_start(by=actor(request), incident=ref)
    return Status(201, _review(request, ref))


@router.put("/incidents/{ref}/review", response=ReviewOut, summary="Save the review's text")
def save_review(request: HttpRequest, ref: str, payload: ReviewIn) -> dict[str, Any]:
    picks = [p.model_dump() for p in payload.picks] if payload.picks is not None else None
    services.review_save(by=actor(request), incident=ref, sections=payload.sections, picks=picks)
    return _review(request, ref)


@router.post("/incidents/{ref}/review/submit", response=ReviewOut)
def submit_review(request: HttpRequest, ref: str) -> dict[str, Any]:
    services.review_submit(by=actor(request), incident=ref)
    return _review(request, ref)


@router.post("/incidents/{ref}/review/publish", response=ReviewOut)
def publish_review(request: HttpRequest, ref: str) -> dict[str, Any]:
    services.review_publish(by=actor(request), incident=ref)
    return _review(request, ref)


@router.post("/incidents/{ref}/review/comments", response={201: ReviewOut})
def comment_review(request: HttpRequest, ref: str, payload: ReviewCommentIn) -> Status:
    services.review_comment(
        by=actor(request), incident=ref, body=payload.body, section=payload.section
    )
    return Status(201, _review(request, ref))


@router.post("/incidents/{ref}/review/waive", response=ReviewOut)
def waive_review(request: HttpRequest, ref: str, payload: WaiveIn) -> dict[str, Any]:
    services.review_waive(by=actor(request), incident=ref, reason=payload.reason)
    return _review(request, ref)


@router.get("/action-items", response=ActionItemList, summary="Action items of all incidents")
def list_action_items(
    request: HttpRequest,
    status: str | None = None,
    kind: str | None = None,
    owner: str | None = None,
    incident: str | None = None,
) -> dict[str, Any]:
    items = action_items_for(actor(request), ActionFilters(status, kind, owner, incident))
    today = local_date(clock.now())
    return {"items": [action_out(i, today) for i in items[:500]]}


@router.post("/incidents/{ref}/action-items", response={201: ActionItemOut})
def create_action_item(request: HttpRequest, ref: str, payload: ActionItemIn) -> Status:
    item = services.action_item_create(
        by=actor(request),
        incident=ref,
        title=payload.title,
        kind=payload.kind,
        owner=payload.owner,
        due_date=payload.due_date,
    )
    return Status(201, action_out(item, local_date(clock.now())))


@router.patch("/action-items/{item_id}", response=ActionItemOut)
def update_action_item(request: HttpRequest, item_id: int, payload: ActionItemPatch) -> Any:
    item = services.action_item_update(
        by=actor(request),
        item_id=item_id,
        status=payload.status,
        owner=payload.owner,
        due_date=payload.due_date,
    )
    return action_out(item, local_date(clock.now()))


@router.get("/metrics", summary="Every insight figure for a date range")
def get_metrics(request: HttpRequest, filters: Query[RangeQuery]) -> dict[str, Any]:
    first, last = parse_range(filters.from_, filters.to)
    return figures(actor(request), first, last)


class StepOutcomeOut(Schema):
    number: int
    key: str
    state: str
    on_time: bool
    missed: bool
    done_at: str | None
    due_at: str | None
    detail: str


class ConformanceOut(Schema):
    incident: str
    steps: list[StepOutcomeOut]


@router.get(
    "/incidents/{ref}/conformance",
    response=ConformanceOut,
    summary="Each policy step: done on time, or missed",
)
def get_conformance(request: HttpRequest, ref: str) -> dict[str, Any]:
    incident, _ = review_for(actor(request), ref)
    return {"incident": incident.ref, "steps": [o.__dict__ for o in incident_conformance(incident)]}
