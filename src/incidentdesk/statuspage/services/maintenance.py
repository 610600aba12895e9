"""Scheduled maintenance: windows announced on the status page, moved on by people or by the
worker at their start and end, and written into the timeline of the Maintenance incident that
owns them."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import clean
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import incident_get_for, incident_lock, parse_ref, policy_for

from ..models import Component, Maintenance, MaintenanceStatus, MaintenanceUpdate
from ..tasks import notify_maintenance
from .components import BODY_MAX, TITLE_MAX, component_get, component_refresh, page_bump

# -- scheduled maintenance ---------------------------------------------------------------------

MAINTENANCE_TEXT = {
    MaintenanceStatus.SCHEDULED: "The maintenance is scheduled.",
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress.",
    MaintenanceStatus.VERIFYING: "The maintenance is being verified.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}
MAINTENANCE_ORDER = list(MaintenanceStatus)


def maintenance_get(maintenance_id: int | str) -> Maintenance:
    try:
        pk = int(maintenance_id)
    except (TypeError, ValueError):
        raise NotFound(f"No scheduled maintenance {maintenance_id}.") from None
    found = Maintenance.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No scheduled maintenance {maintenance_id}.")
    return found


def maintenance_schedule(
    *,
    by: User | None,
    name: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    body: str = "",
    components: list[int | str] | None = None,
    incident: Incident | str | None = None,
) -> Maintenance:
    """Announce a maintenance window. The worker puts its components under maintenance
    during the window and back afterwards.

    With `incident` (one whose type has `maintenance_window` in the policy), the window
    belongs to that incident: scheduling it and each of its steps are written into the
    incident's timeline."""
    if by is not None:
        require(by, "statuspage.maintenance")
    errors: list[FieldError] = []
    if isinstance(incident, str):
        incident = (
            incident_get_for(by, incident)
            if by is not None
            else Incident.objects.filter(pk=parse_ref(incident)).first()
        )
        if incident is None:
            raise NotFound("No such incident.")
    if incident is not None:
        policy = policy_for(incident)
        if not policy.schedules_maintenance(incident.type):
            schedules = [t.label for t in policy.types.values() if t.maintenance_window]
            errors.append(
                FieldError(
                    "incident",
                    f"{incident.ref} is not categorized as a type that schedules maintenance "
                    f"({', '.join(schedules) or 'none in the policy'}); categorize it first.",
                )
            )
    try:
        name = clean("name", name, limit=TITLE_MAX, multiline=False)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        body = clean("body", body, limit=BODY_MAX, required=False)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if scheduled_for.tzinfo is None or scheduled_until.tzinfo is None:
        errors.append(FieldError("scheduled_for", "Give times with their UTC offset."))
    elif scheduled_until <= scheduled_for:
        errors.append(FieldError("scheduled_until", "The window must end after it starts."))
    targets: list[Component] = []
    for ref in components or []:
        try:
            targets.append(component_get(ref))
        except NotFound as exc:
            errors.append(FieldError("components", exc.detail))
    if errors:
        raise InvalidInput("The maintenance was not scheduled.", errors)
    with transaction.atomic():
        locked = None
        if incident is not None:
            locked = (
                incident_lock(by, incident)
                if by is not None
                else Incident.objects.select_for_update().get(pk=incident.pk)
            )
        now = clock.now()
        maintenance = Maintenance.objects.create(
            name=name,
            body=body,
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            incident=incident,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        maintenance.components.set(targets)
        MaintenanceUpdate.objects.create(
            maintenance=maintenance,
            status=MaintenanceStatus.SCHEDULED,
            body=body or MAINTENANCE_TEXT[MaintenanceStatus.SCHEDULED],
            at=now,
        )
        # the same record in the audit log and, for a window tied to an incident, its timeline
        record = {
            "maintenance": maintenance.pk,
            "name": name,
            "from": scheduled_for.isoformat(),
            "until": scheduled_until.isoformat(),
            "components": [c.name for c in targets],
        }
        audit_record(by=by, kind="statuspage_maintenance_scheduled", data=record)
        if locked is not None:
            timeline.append(locked, kind="maintenance_scheduled", by=by, data=dict(record))
            locked.save()
        page_bump()
        _notify_maintenance(maintenance.pk, "scheduled")
    return maintenance


def maintenance_post(
    *, by: User | None, maintenance: Maintenance | int | str, status: str, body: str = ""
) -> MaintenanceUpdate:
    """Move a maintenance on (scheduled -> in_progress -> verifying -> completed) with a post."""
    if by is not None:
        require(by, "statuspage.maintenance")
    if status not in MaintenanceStatus.values:
        raise field_error(
            "status", f"Maintenance status is one of: {', '.join(MaintenanceStatus.values)}."
        )
    body = clean("body", body, limit=BODY_MAX, required=False)
    with transaction.atomic():
        pk = maintenance.pk if isinstance(maintenance, Maintenance) else maintenance
        current = Maintenance.objects.select_for_update().filter(pk=maintenance_get(pk).pk).get()
        if current.status == MaintenanceStatus.COMPLETED:
            raise Conflict("This maintenance is completed: it takes no more posts.")
        if MAINTENANCE_ORDER.index(MaintenanceStatus(status)) < MAINTENANCE_ORDER.index(
            MaintenanceStatus(current.status)
        ):
            raise Conflict(f"A maintenance that is {current.status} cannot go back to {status}.")
        update = _maintenance_move(current, MaintenanceStatus(status), body, by)
    return update


def _maintenance_move(
    maintenance: Maintenance, status: MaintenanceStatus, body: str, by: User | None
) -> MaintenanceUpdate:
    now = clock.now()
    maintenance.status = status
    maintenance.updated_at = now
    if status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING):
        maintenance.started_at = maintenance.started_at or now
    if status == MaintenanceStatus.COMPLETED:
        maintenance.resolved_at = now
    maintenance.save()
    update = MaintenanceUpdate.objects.create(
        maintenance=maintenance, status=status, body=body or MAINTENANCE_TEXT[status], at=now
    )
    audit_record(
        by=by,
        kind="statuspage_maintenance_updated",
        data={"maintenance": maintenance.pk, "status": status},
    )
    if maintenance.incident_id is not None:
        incident = Incident.objects.select_for_update().get(pk=maintenance.incident_id)
        timeline.append(
            incident,
            kind="maintenance_updated",
            by=by,
            data={
                "maintenance": maintenance.pk,
                "name": maintenance.name,
                "status": status,
                "body": update.body,
            },
        )
        incident.save()
    for component in maintenance.components.all():
        component_refresh(component)
    page_bump()
    _notify_maintenance(maintenance.pk, status)
    return update


MAINTENANCE_BATCH = 200


def maintenance_tick() -> int:
    """Start the windows that have begun and complete the ones that have ended. Reads only the
    windows due a move, through the (status, scheduled_for) and (status, scheduled_until)
    indexes, so a run costs what is due, not every window ever held. Safe to run concurrently
    and repeatedly: workers skip a window another is moving. Returns the number moved."""
    now = clock.now()
    moved = 0
    starting = Maintenance.objects.filter(
        status=MaintenanceStatus.SCHEDULED, scheduled_for__lte=now, scheduled_until__gt=now
    )
    ending = Maintenance.objects.filter(
        status__in=[
            MaintenanceStatus.SCHEDULED,
            MaintenanceStatus.IN_PROGRESS,
            MaintenanceStatus.VERIFYING,
        ],
        scheduled_until__lte=now,
    )
    for due, target in (
        (starting, MaintenanceStatus.IN_PROGRESS),
        (ending, MaintenanceStatus.COMPLETED),
    ):
        for pk in list(due.values_list("pk", flat=True)[:MAINTENANCE_BATCH]):
            with transaction.atomic():
                current = due.select_for_update(skip_locked=True).filter(pk=pk).first()
                if current is None:  # moved by another worker meanwhile
                    continue
                _maintenance_move(current, target, "", None)
                moved += 1
    return moved


def _notify_maintenance(maintenance_id: int, event: str) -> None:
    notify_maintenance.enqueue(maintenance_id, event)
