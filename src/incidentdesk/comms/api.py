"""/api/v1: channels (admins), deliveries, preferences. Thin: every write is a service call."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.permissions import require
from incidentdesk.core.errors import NotFound, field_error
from incidentdesk.core.text import Line, Text
from incidentdesk.incidents.selectors import incident_get_for
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS

from . import selectors, services
from .models import Channel, Delivery, DeliveryState

router = Router(tags=["comms"])


class ChannelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Line
    kind: str = Field(description="apprise or webhook")
    url: str = Field(description="an Apprise URL (slack://..., json://...) or a webhook URL")
    audiences: list[str]
    template: Text = Field("", description="own wording: first line subject, then body")
    secret: str | None = Field(
        None, description="webhook signing secret whsec_...; generated when absent"
    )


class ChannelPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Line | None = None
    url: str | None = None
    audiences: list[str] | None = None
    template: Text | None = None
    active: bool | None = None


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    url_hint: str
    audiences: list[str]
    template: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ChannelCreatedOut(ChannelOut):
    secret: str | None = Field(description="the webhook signing secret, shown only now")


class DeliveryOut(Schema):
    id: int
    incident: str | None
    channel: str
    recipient: str
    trigger: str
    audience: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


class DeliveryList(Schema):
    items: list[DeliveryOut]


class PreferenceIn(Schema):
    model_config = ConfigDict(extra="forbid")
    muted: list[str] = Field(
        description='"trigger:channel" pairs not wanted, e.g. "resolved:email"'
    )
    apprise_url: str | None = Field(
        None, description='your Apprise URL; "" removes it; absent keeps it'
    )


class PreferenceOut(Schema):
    muted: list[str]
    apprise_url_hint: str
    triggers: list[str]
    channels: list[str]


def _channel_out(channel: Channel) -> dict[str, object]:
    return {
        "id": channel.pk,
        "name": channel.name,
        "kind": channel.kind,
        "url_hint": channel.url_hint,
        "audiences": channel.audiences,
        "template": channel.template,
        "active": channel.active,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


def _delivery_out(d: Delivery) -> dict[str, object]:
    return {
        "id": d.pk,
        "incident": f"INC-{d.incident_id}" if d.incident_id else None,
        "channel": d.channel,
        "recipient": d.recipient,
        "trigger": d.trigger,
        "audience": d.audience,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "sent_at": d.sent_at,
    }


# -- channels --------------------------------------------------------------------------------


@router.get("/channels", response=list[ChannelOut], summary="List channels (admins)")
def channel_list(request: HttpRequest) -> list[dict[str, object]]:
    require(actor(request), "channel.manage")
    return [_channel_out(c) for c in Channel.objects.all()]


@router.post("/channels", response={201: ChannelCreatedOut}, summary="Create a channel")
def channel_create(request: HttpRequest, payload: ChannelIn) -> Status:
    channel, secret = services.channel_create(by=actor(request), **payload.dict())
    return Status(201, {**_channel_out(channel), "secret": secret or None})


def _channel(request: HttpRequest, channel_id: int) -> Channel:
    require(actor(request), "channel.manage")
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise NotFound(f"No channel {channel_id}.")
    return channel


@router.get("/channels/{channel_id}", response=ChannelOut)
def channel_get(request: HttpRequest, channel_id: int) -> dict[str, object]:
    return _channel_out(_channel(request, channel_id))


@router.patch("/channels/{channel_id}", response=ChannelOut)
def channel_update(
    request: HttpRequest, channel_id: int, payload: ChannelPatchIn
) -> dict[str, object]:
    channel = services.channel_update(
        by=actor(request), channel_id=channel_id, **payload.dict(exclude_unset=True)
    )
    return _channel_out(channel)


@router.delete("/channels/{channel_id}", response={204: None})
def channel_delete(request: HttpRequest, channel_id: int) -> Status:
    services.channel_delete(by=actor(request), channel_id=channel_id)
    return Status(204, None)


# -- deliveries ------------------------------------------------------------------------------


class DeliveryFilters(Schema):
    state: str | None = None


@router.get(
    "/incidents/{ref}/deliveries", response=DeliveryList, summary="An incident's deliveries"
)
def incident_deliveries(request: HttpRequest, ref: str) -> dict[str, object]:
    user = actor(request)
    require(user, "comms.view")
    incident = incident_get_for(user, ref)
    return {"items": [_delivery_out(d) for d in selectors.deliveries_of(incident)[:500]]}


@router.get("/deliveries", response=DeliveryList, summary="All deliveries (admins, managers)")
def deliveries(request: HttpRequest, filters: Query[DeliveryFilters]) -> dict[str, object]:
    require(actor(request), "comms.deliveries")
    if filters.state and filters.state not in DeliveryState.values:
        raise field_error("state", f"State is one of: {', '.join(DeliveryState.values)}.")
    qs = selectors.deliveries_filtered(state=filters.state)[:500]
    return {"items": [_delivery_out(d) for d in qs]}


@router.post(
    "/deliveries/{delivery_id}/retry", response=DeliveryOut, summary="Retry a failed delivery"
)
def delivery_retry(request: HttpRequest, delivery_id: int) -> dict[str, object]:
    return _delivery_out(services.delivery_retry(by=actor(request), delivery_id=delivery_id))


# -- preferences -----------------------------------------------------------------------------


def _preference_out(user: object) -> dict[str, object]:
    pref = selectors.preference_of(user)  # type: ignore[arg-type]
    return {
        "muted": pref.muted if pref else [],
        "apprise_url_hint": pref.apprise_url_hint if pref else "",
        "triggers": list(NOTIFICATION_TRIGGERS),
        "channels": list(services.PERSON_CHANNELS),
    }


@router.get("/preferences", response=PreferenceOut, summary="Your notification preferences")
def preference_get(request: HttpRequest) -> dict[str, object]:
    user = actor(request)
    require(user, "preference.edit_own")
    return _preference_out(user)


@router.put("/preferences", response=PreferenceOut, summary="Set your notification preferences")
def preference_put(request: HttpRequest, payload: PreferenceIn) -> dict[str, object]:
    user = actor(request)
    services.preference_set(by=user, muted=payload.muted, apprise_url=payload.apprise_url)
    return _preference_out(user)
