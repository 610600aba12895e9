"""/api/v1 status-page management: publishing incidents, components and what incidents do to
them, scheduled maintenance, subscriptions. Thin: every write is a service call. The public
read API is Statuspage's v2, under /api/v2 (`api_v2.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pydantic
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.permissions import require
from incidentdesk.core.api import Instant
from incidentdesk.core.errors import FieldError, InvalidInput
from incidentdesk.core.text import Line, Text

from . import selectors, services, subscriptions
from .models import Component, Maintenance, Publication

router = Router(tags=["statuspage"])


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class PublishIn(_In):
    title: Line | None = None
    body: Text = ""


class SummaryIn(_In):
    title: Line
    body: Text
    status: str = "investigating"


class PublicationOut(Schema):
    incident: str
    public_id: str
    public_title: str
    summary_only: bool
    automatic: bool
    published_at: dt.datetime
    withdrawn_at: dt.datetime | None
    url: str


class ComponentIn(_In):
    name: Line
    description: Text = ""
    group: str | None = None
    position: int | None = None
    status: str = "operational"


class ComponentPatchIn(_In):
    name: Line | None = None
    description: Text | None = None
    position: int | None = None
    status: str | None = None
    manual: bool | None = None


class ComponentOut(Schema):
    id: int
    name: str
    description: str
    group: str | None
    position: int
    status: str
    manual: bool


class LinkIn(_In):
    component: int
    status: str = "major_outage"


class LinkOut(Schema):
    incident: str
    component: int
    status: str


class MaintenanceIn(_In):
    name: Line
    body: Text = ""
    scheduled_for: Instant
    scheduled_until: Instant
    components: list[int] = []
    # INC-n of a Maintenance incident: the window is written into its timeline
    incident: str | None = None


class MaintenancePostIn(_In):
    status: str
    body: Text = ""


class MaintenanceOut(Schema):
    id: int
    name: str
    status: str
    scheduled_for: dt.datetime
    scheduled_until: dt.datetime
    components: list[int]
    incident: str | None


class SubscribeIn(_In):
    email: str | None = None
    url: str | None = None
    components: list[int] = []


class SubscribedOut(Schema):
    kind: str
    confirmed: bool
    token: str | None = None


_OPTIONAL_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": PublishIn.model_json_schema()}},
    }
}


def _optional(request: HttpRequest, schema: type[PublishIn]) -> PublishIn:
    if request.content_type != "application/json" or not request.body.strip():
        return schema()
    try:
        return schema.model_validate_json(request.body)
    except pydantic.ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()
        ]
        raise InvalidInput("The request body is not valid.", errors) from None


def _publication(p: Publication) -> dict[str, Any]:
    return {
        "incident": p.incident.ref,
        "public_id": str(p.pk),
        "public_title": p.public_title,
        "summary_only": p.summary_only,
        "automatic": p.automatic,
        "published_at": p.published_at,
        "withdrawn_at": p.withdrawn_at,
        "url": f"{selectors.base_url().rstrip('/')}/incidents/{p.pk}/",
    }


def _component(c: Component) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "description": c.description,
        "group": c.group.name if c.group else None,
        "position": c.position,
        "status": c.status,
        "manual": c.manual,
    }


def _maintenance(m: Maintenance) -> dict[str, Any]:
    return {
        "id": m.pk,
        "name": m.name,
        "status": m.status,
        "scheduled_for": m.scheduled_for,
        "scheduled_until": m.scheduled_until,
        "components": [c.pk for c in m.components.all()],
        "incident": f"INC-{m.incident_id}" if m.incident_id else None,
    }


@router.post(
    "/incidents/{ref}/publish", response={201: PublicationOut}, openapi_extra=_OPTIONAL_BODY
)
def publish(request: HttpRequest, ref: str) -> Any:
    """Show a non-private incident on the public status page. The body is optional: a public
    title (default: the incident's) and a first post."""
    body = _optional(request, PublishIn)
    p = services.incident_publish(by=actor(request), incident=ref, title=body.title, body=body.body)
    return Status(201, _publication(p))


@router.post("/incidents/{ref}/publish-summary", response={201: PublicationOut})
def publish_summary(request: HttpRequest, ref: str, payload: SummaryIn) -> Any:
    """Managers: show only this summary of an incident (the one way a private incident
    reaches the page)."""
    p = services.incident_publish_summary(
        by=actor(request),
        incident=ref,
        title=payload.title,
        body=payload.body,
        status=payload.status,
    )
    return Status(201, _publication(p))


@router.post("/incidents/{ref}/unpublish", response=PublicationOut)
def unpublish(request: HttpRequest, ref: str) -> Any:
    return _publication(services.incident_unpublish(by=actor(request), incident=ref))


@router.post("/incidents/{ref}/components", response={201: LinkOut})
def link_component(request: HttpRequest, ref: str, payload: LinkIn) -> Any:
    link = services.incident_link_component(
        by=actor(request), incident=ref, component=payload.component, status=payload.status
    )
    return Status(
        201,
        {"incident": link.incident.ref, "component": link.component_id, "status": link.status},
    )


@router.delete("/incidents/{ref}/components/{component_id}", response={204: None})
def unlink_component(request: HttpRequest, ref: str, component_id: int) -> Any:
    services.incident_unlink_component(by=actor(request), incident=ref, component=component_id)
    return Status(204, None)


@router.get("/statuspage/components", response=list[ComponentOut])
def list_components(request: HttpRequest) -> Any:
    """The team's view, with whether a status is set by hand. The public reads /api/v2."""
    require(actor(request), "statuspage.link_components")
    return [_component(c) for c in selectors.components()]


@router.post("/statuspage/components", response={201: ComponentOut})
def create_component(request: HttpRequest, payload: ComponentIn) -> Any:
    c = services.component_create(
        by=actor(request),
        name=payload.name,
        description=payload.description,
        group=payload.group,
        position=payload.position,
        status=payload.status,
    )
    return Status(201, _component(c))


@router.get("/statuspage/components/{component_id}", response=ComponentOut)
def get_component(request: HttpRequest, component_id: int) -> Any:
    require(actor(request), "statuspage.link_components")
    return _component(services.component_get(component_id))


@router.patch("/statuspage/components/{component_id}", response=ComponentOut)
def update_component(request: HttpRequest, component_id: int, payload: ComponentPatchIn) -> Any:
    c = services.component_update(by=actor(request), component=component_id, **payload.dict())
    return _component(c)


@router.delete("/statuspage/components/{component_id}", response={204: None})
def delete_component(request: HttpRequest, component_id: int) -> Any:
    services.component_delete(by=actor(request), component=component_id)
    return Status(204, None)


@router.post("/statuspage/maintenances", response={201: MaintenanceOut})
def schedule_maintenance(request: HttpRequest, payload: MaintenanceIn) -> Any:
    m = services.maintenance_schedule(
        by=actor(request),
        name=payload.name,
        body=payload.body,
        scheduled_for=payload.scheduled_for,
        scheduled_until=payload.scheduled_until,
        components=list(payload.components),
        incident=payload.incident or None,
    )
    return Status(201, _maintenance(m))


@router.post("/statuspage/maintenances/{maintenance_id}/updates", response={201: MaintenanceOut})
def post_maintenance(request: HttpRequest, maintenance_id: int, payload: MaintenancePostIn) -> Any:
    services.maintenance_post(
        by=actor(request), maintenance=maintenance_id, status=payload.status, body=payload.body
    )
    return Status(201, _maintenance(services.maintenance_get(maintenance_id)))


@router.post("/statuspage/subscribers", response={201: SubscribedOut}, auth=None)
def subscribe(request: HttpRequest, payload: SubscribeIn) -> Any:
    """Anyone: an e-mail address or a webhook URL, confirmed by following the link sent there
    (for a webhook, POSTed to it with the secret its notices are signed with). The answer is
    the same whether or not the address is subscribed; `token`, once the link is followed,
    names the subscription (and unsubscribes it)."""
    components: list[int | str] = list(payload.components)
    client = request.META.get("REMOTE_ADDR", "")
    if payload.url:
        requested = subscriptions.subscribe_webhook(
            url=payload.url, components=components, client=client
        )
        kind = "webhook"
    else:
        requested = subscriptions.subscribe_email(
            email=payload.email or "", components=components, client=client
        )
        kind = "email"
    return Status(201, {"kind": kind, "confirmed": False, "token": requested.handle})


class UnsubscribeIn(_In):
    token: str


@router.post("/statuspage/subscribers/unsubscribe", response={204: None}, auth=None)
def unsubscribe(request: HttpRequest, payload: UnsubscribeIn) -> Any:
    """Anyone holding a subscription's token ends it."""
    subscriptions.unsubscribe_webhook(payload.token)
    return Status(204, None)
