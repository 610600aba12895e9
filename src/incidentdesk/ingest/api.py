"""/api/v1/integrations: the team's alert sources. Thin: every write is a service call."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.core.api import actor

from . import services
from .models import Integration

router = Router(tags=["integrations"])


class IntegrationIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str
    component: str = ""
    type: str = ""
    auto_resolve: bool = False


class IntegrationOut(Schema):
    id: int
    name: str
    key_prefix: str
    component: str
    type: str
    auto_resolve: bool
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class IntegrationCreatedOut(IntegrationOut):
    routing_key: str


def _out(integration: Integration) -> dict[str, object]:
    return {
        "id": integration.pk,
        "name": integration.name,
        "key_prefix": integration.prefix,
        "component": integration.component,
        "type": integration.type,
        "auto_resolve": integration.auto_resolve,
        "created_at": integration.created_at,
        "revoked_at": integration.revoked_at,
    }


@router.get("/integrations", response=list[IntegrationOut], summary="List the alert sources")
def list_integrations(request: HttpRequest) -> list[dict[str, object]]:
    return [_out(i) for i in services.integration_list(by=actor(request))]


@router.post(
    "/integrations",
    response={201: IntegrationCreatedOut},
    summary="Create an alert source; its routing key is in this answer only",
)
def create_integration(request: HttpRequest, payload: IntegrationIn) -> Status:
    raw, integration = services.integration_create(by=actor(request), **payload.dict())
    return Status(201, {**_out(integration), "routing_key": raw})


@router.delete(
    "/integrations/{integration_id}",
    response=IntegrationOut,
    summary="Revoke an alert source: its key is refused from now on",
)
def revoke_integration(request: HttpRequest, integration_id: int) -> dict[str, object]:
    return _out(services.integration_revoke(by=actor(request), integration_id=integration_id))
