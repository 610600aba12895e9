"""/api/v1/integrations: the team's alert sources. Thin: every write is a service call."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core.api import Instant
from incidentdesk.core.errors import FieldError, InvalidInput, NotFound

from . import selectors, services
from .models import Integration, Schedule
from .webhooks import AlertmanagerPayload, GenericAlert, alertmanager_events, generic_event

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


# -- alerts from monitoring, authenticated by the integration's key in the path -------------


class AlertsAcceptedOut(Schema):
    accepted: int
    incidents: list[str]


def _integration(key: str) -> Integration:
    integration = services.integration_for_key(key)
    if integration is None:
        raise NotFound("No active integration has this key.")
    return integration


def _receive(integration: Integration, events: list[services.AlertEvent]) -> dict[str, object]:
    refs: list[str] = []
    for outcome in services.alerts_receive(integration=integration, events=events):
        if outcome.alert is not None and f"INC-{outcome.alert.incident_id}" not in refs:
            refs.append(f"INC-{outcome.alert.incident_id}")
    return {"accepted": len(events), "incidents": refs}


@router.post(
    "/integrations/{key}/alertmanager",
    auth=None,
    response={202: AlertsAcceptedOut},
    summary="Alertmanager's webhook (payload version 4), authenticated by the key in the path",
)
def alertmanager(request: HttpRequest, key: str, payload: AlertmanagerPayload) -> Status:
    integration = _integration(key)
    return Status(202, _receive(integration, alertmanager_events(payload)))


@router.post(
    "/integrations/{key}/alerts",
    auth=None,
    response={202: AlertsAcceptedOut},
    summary="The generic alert webhook: one alert (or a list) in IncidentDesk's own shape",
)
def generic(request: HttpRequest, key: str, payload: GenericAlert | list[GenericAlert]) -> Status:
    integration = _integration(key)
    alerts = payload if isinstance(payload, list) else [payload]
    if len(alerts) > 1000:
        raise InvalidInput(
            "At most 1000 alerts in one request.", [FieldError("body", "too many alerts")]
        )
    return Status(202, _receive(integration, [generic_event(a) for a in alerts]))


# -- who is on call ---------------------------------------------------------------------------


class ShiftOut(Schema):
    person: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    source: str


class OnCallOut(Schema):
    schedule: str
    time_zone: str
    now: ShiftOut | None
    next: ShiftOut | None


def _shift(shift: selectors.Shift | None) -> dict[str, object] | None:
    if shift is None or shift.user is None:
        return None
    return {
        "person": shift.user.email,
        "name": shift.user.display_name,
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
        "source": shift.source,
    }


@router.get("/oncall", response=list[OnCallOut], summary="Who is on call now and next")
def oncall(request: HttpRequest) -> list[dict[str, object]]:
    require(actor(request), "oncall.view")
    return [
        {
            "schedule": o.schedule.name,
            "time_zone": o.schedule.time_zone,
            "now": _shift(o.now),
            "next": _shift(o.next),
        }
        for o in selectors.oncall_everywhere()
    ]


# -- building schedules -----------------------------------------------------------------------


class ScheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str
    time_zone: str


class LayerIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str
    rotation: str
    handoff_time: dt.time
    starts_on: dt.date
    members: list[str]
    covers_from: dt.time | None = None
    covers_until: dt.time | None = None


class OverrideIn(Schema):
    model_config = ConfigDict(extra="forbid")
    person: str | None = None
    starts_at: Instant
    ends_at: Instant


class ScheduleOut(Schema):
    name: str
    time_zone: str
    layers: list[str]


def _schedule_out(schedule: Schedule) -> dict[str, object]:
    return {
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "layers": list(schedule.layers.values_list("name", flat=True)),
    }


@router.post("/schedules", response={201: ScheduleOut}, summary="Create an on-call schedule")
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Status:
    schedule = services.schedule_create(by=actor(request), **payload.dict())
    return Status(201, _schedule_out(schedule))


@router.post(
    "/schedules/{name}/layers",
    response={201: ScheduleOut},
    summary="Add a rotation on top of a schedule's layers",
)
def add_layer(request: HttpRequest, name: str, payload: LayerIn) -> Status:
    by = actor(request)
    require(by, "schedule.manage")
    schedule = services.schedule_get(name)
    services.schedule_add_layer(by=by, schedule=schedule, **payload.dict())
    return Status(201, _schedule_out(schedule))


@router.post(
    "/schedules/{name}/overrides",
    response={201: ShiftOut},
    summary="Take a shift (yourself, or as a manager anyone on the team)",
)
def add_override(request: HttpRequest, name: str, payload: OverrideIn) -> Status:
    by = actor(request)
    require(by, "oncall.view")
    schedule = services.schedule_get(name)
    email = (payload.person or by.email).strip().lower()
    person = User.objects.filter(email=email).first()
    if person is None:
        raise InvalidInput("The override was not made.", [FieldError("person", "No such person.")])
    override = services.override_create(
        by=by, schedule=schedule, user=person, starts_at=payload.starts_at, ends_at=payload.ends_at
    )
    return Status(
        201,
        {
            "person": person.email,
            "name": person.display_name,
            "starts_at": override.starts_at,
            "ends_at": override.ends_at,
            "source": "override",
        },
    )
