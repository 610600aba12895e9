"""Portal endpoints under /api/v1: similar incidents, joining, comments, evidence files,
following, and the team's merge of duplicates. Thin: every write is a service call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.models import User
from incidentdesk.core.api import Instant
from incidentdesk.core.errors import NotFound
from incidentdesk.core.text import Line, Text
from incidentdesk.incidents.kinds import EntryView, audience_of, entries_for, entry_view
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import incident_get_for

from . import selectors, services
from .forms import uploads_from
from .models import Attachment, Source

router = Router(tags=["portal"])


class JoinIn(Schema):
    model_config = ConfigDict(extra="forbid")
    from_incident: str | None = Field(
        None, description="Your own new report of the same problem, for the team to merge."
    )


class PortalCommentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    body: Text


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    original: str = Field(description="The incident the duplicate is merged into, e.g. INC-3.")
    reason: Text = ""


class SimilarOut(Schema):
    ref: str
    title: str = Field(description="The public title when `linked` is false.")
    status: str = Field(description="The status page's status when `linked` is false.")
    plain_status: str
    linked: bool = Field(description="Whether you may open the incident itself.")


class PortalReportIn(Schema):
    model_config = ConfigDict(extra="forbid")
    title: Line
    description: Text = ""
    started_at: Instant | None = None
    problem_type: str = Field("", description="A type key of the policy, e.g. functionality.")
    component: int | None = Field(None, description="A status page component's id.")
    users_affected: int | None = None
    steps: Text = ""


class ReportedOut(Schema):
    ref: str
    title: str
    status: str
    plain_status: str
    linked: bool
    similar: list[SimilarOut]


class SimilarPage(Schema):
    items: list[SimilarOut]


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime
    url: str


class AttachmentsOut(Schema):
    items: list[AttachmentOut]


class PortalCommentOut(Schema):
    seq: int
    author: str
    at: dt.datetime
    body: str
    attachments: list[dict[str, Any]]


class CommentsOut(Schema):
    items: list[PortalCommentOut]


class JoinedOut(Schema):
    ref: str
    title: str = Field(description="The public title when `linked` is false.")
    status: str
    plain_status: str
    linked: bool = Field(
        description="True: your organisation is listed as affected and you follow the "
        "incident. False: the team was asked to link your organisation; until it does, you "
        "see only the incident's public title and status."
    )
    affected_organisations: list[str] = Field(description="Empty until `linked`.")


class OrganisationLinkIn(Schema):
    model_config = ConfigDict(extra="forbid")
    organisation: str = Field(description="The stakeholder organisation's name.")


class LinkedOut(Schema):
    ref: str
    affected_organisations: list[str]


class FollowOut(Schema):
    ref: str
    following: bool


class MergedOut(Schema):
    duplicate: str
    original: str
    affected_organisations: list[str]


def _similar_out(item: selectors.Suggestion) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "title": item.title,
        "status": item.status,
        "plain_status": item.plain_status,
        "linked": item.linked,
    }


def _similar(user: User, incident: Incident) -> list[dict[str, Any]]:
    found = selectors.similar_open_incidents(incident, viewer=user)
    return [_similar_out(item) for item in selectors.suggestions_for(user, found)]


def _attachment_out(item: Attachment) -> dict[str, Any]:
    return {
        "id": item.pk,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "uploaded_at": item.uploaded_at,
        "url": f"/api/v1/attachments/{item.pk}",
    }


def _as_written(entry: TimelineEntry, user: User) -> EntryView:
    """The comment its author just wrote, as its author may read it back."""
    shown = entry_view(entry, audience_of(user))
    if shown is None:  # every audience that may comment reads comments
        raise NotFound("No such comment.")
    return shown


def _comment_out(entry: EntryView) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "author": entry.actor,
        "at": entry.at,
        "body": entry.data.get("body", ""),
        "attachments": entry.data.get("attachments", []),
    }


@router.post(
    "/reports",
    response={201: ReportedOut},
    summary="Report a problem with the checklist's details (rate limited per person)",
)
def report(request: HttpRequest, payload: PortalReportIn) -> Status:
    user = actor(request)
    incident = services.portal_report(
        by=user,
        title=payload.title,
        description=payload.description,
        started_at=payload.started_at,
        problem_type=payload.problem_type,
        component_id=payload.component,
        users_affected=payload.users_affected,
        steps=payload.steps,
        source=Source.API,
    )
    shown = selectors.suggestions_for(user, [incident])
    return Status(201, {**_similar_out(shown[0]), "similar": _similar(user, incident)})


@router.get(
    "/incidents/{ref}/similar",
    response=SimilarPage,
    summary="Open incidents similar to this one (that you may find)",
)
def similar(request: HttpRequest, ref: str) -> dict[str, Any]:
    user = actor(request)
    incident = incident_get_for(user, ref)
    return {"items": _similar(user, incident)}


@router.post(
    "/incidents/{ref}/join",
    response=JoinedOut,
    summary="We are affected too: an incident you see, or one on the public status page",
)
def join(request: HttpRequest, ref: str, payload: JoinIn) -> dict[str, Any]:
    joined = services.portal_join(
        by=actor(request), incident=ref, from_incident=payload.from_incident
    )
    organisations = joined.incident.affected_orgs.all() if joined.linked else []
    return {
        **_similar_out(joined.suggestion),
        "affected_organisations": sorted(o.name for o in organisations),
    }


@router.post(
    "/incidents/{ref}/organisations",
    response=LinkedOut,
    summary="List an organisation as affected, e.g. one that asked to join (team)",
)
def link_organisation(
    request: HttpRequest, ref: str, payload: OrganisationLinkIn
) -> dict[str, Any]:
    incident = services.incident_link_organisation(
        by=actor(request), incident=ref, organisation=payload.organisation
    )
    return {
        "ref": incident.ref,
        "affected_organisations": sorted(o.name for o in incident.affected_orgs.all()),
    }


@router.get("/incidents/{ref}/comments", response=CommentsOut)
def list_comments(request: HttpRequest, ref: str) -> dict[str, Any]:
    user = actor(request)
    incident = incident_get_for(user, ref)
    entries = entries_for(user, incident, kinds=["stakeholder_comment"])
    return {"items": [_comment_out(e) for e in entries]}


@router.post("/incidents/{ref}/comments", response={201: PortalCommentOut})
def add_comment(request: HttpRequest, ref: str, payload: PortalCommentIn) -> Status:
    user = actor(request)
    entry = services.portal_comment(by=user, incident=ref, body=payload.body)
    return Status(201, _comment_out(_as_written(entry, user)))


@router.get("/incidents/{ref}/attachments", response=AttachmentsOut)
def list_attachments(request: HttpRequest, ref: str) -> dict[str, Any]:
    incident = incident_get_for(actor(request), ref)
    return {"items": [_attachment_out(a) for a in selectors.incident_attachments(incident)]}


@router.post(
    "/incidents/{ref}/attachments",
    response={201: PortalCommentOut},
    summary="Add evidence files (multipart, field 'files'), with an optional comment",
)
def upload(
    request: HttpRequest,
    ref: str,
    files: list[UploadedFile] = File(...),  # noqa: B008
    body: str = Form(""),
) -> Status:
    user = actor(request)
    entry = services.portal_comment(
        by=user, incident=ref, body=body, uploads=uploads_from(list(files))
    )
    return Status(201, _comment_out(_as_written(entry, user)))


@router.get("/attachments/{attachment_id}", summary="Download an evidence file")
def download(request: HttpRequest, attachment_id: int) -> FileResponse:
    return selectors.attachment_download(actor(request), attachment_id)


@router.post("/incidents/{ref}/follow", response=FollowOut)
def follow(request: HttpRequest, ref: str) -> dict[str, Any]:
    services.portal_follow(by=actor(request), incident=ref)
    return {"ref": ref.upper(), "following": True}


@router.delete("/incidents/{ref}/follow", response=FollowOut)
def unfollow(request: HttpRequest, ref: str) -> dict[str, Any]:
    services.portal_unfollow(by=actor(request), incident=ref)
    return {"ref": ref.upper(), "following": False}


@router.post("/incidents/{ref}/merge", response=MergedOut, summary="Merge a duplicate (team)")
def merge(request: HttpRequest, ref: str, payload: MergeIn) -> dict[str, Any]:
    dup, orig = services.incident_merge(
        by=actor(request), duplicate=ref, original=payload.original, reason=payload.reason
    )
    return {
        "duplicate": dup.ref,
        "original": orig.ref,
        "affected_organisations": sorted(o.name for o in orig.affected_orgs.all()),
    }
