"""Every change to the public status page. Each checks permission, writes, documents the
action (the incident's timeline, or the audit log outside an incident) and bumps the page's
version in one transaction. Nothing else writes the status page's tables."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.incidents import lifecycle, timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import incident_get_for

from .models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    PageState,
    worst,
)

NAME_MAX = 100
DESCRIPTION_MAX = 2000


# -- the page's version: names every cached response ------------------------------------------


def page_bump() -> None:
    """Mark everything the public page shows as changed. Call inside the changing transaction:
    a rolled-back change leaves the version alone."""
    now = clock.now()
    updated = PageState.objects.filter(pk=1).update(version=F("version") + 1, changed_at=now)
    if not updated:
        PageState.objects.get_or_create(pk=1, defaults={"version": 2, "changed_at": now})


# -- helpers -------------------------------------------------------------------------------


def _name(value: str | None, field: str = "name") -> str:
    value = (value or "").strip()
    if not value:
        raise field_error(field, "A name is required.")
    if len(value) > NAME_MAX:
        raise field_error(field, f"At most {NAME_MAX} characters (this has {len(value)}).")
    return value


def _description(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise field_error("description", f"At most {DESCRIPTION_MAX} characters.")
    return value


def _status(value: str, field: str = "status") -> ComponentStatus:
    if value not in ComponentStatus.values:
        raise field_error(
            field, f"Unknown status {value!r} (known: {', '.join(ComponentStatus.values)})."
        )
    return ComponentStatus(value)


def component_get(component_id: int | str) -> Component:
    try:
        pk = int(component_id)
    except (TypeError, ValueError):
        raise NotFound(f"No component {component_id}.") from None
    component = Component.objects.select_related("group").filter(pk=pk).first()
    if component is None:
        raise NotFound(f"No component {component_id}.")
    return component


def group_get(group_id: int | str) -> ComponentGroup:
    try:
        pk = int(group_id)
    except (TypeError, ValueError):
        raise NotFound(f"No component group {group_id}.") from None
    group = ComponentGroup.objects.filter(pk=pk).first()
    if group is None:
        raise NotFound(f"No component group {group_id}.")
    return group


def _group_by_name_or_id(value: int | str | None) -> ComponentGroup | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        group = ComponentGroup.objects.filter(pk=int(value)).first()
    else:
        group = ComponentGroup.objects.filter(name=str(value).strip()).first()
    if group is None:
        raise field_error("group", f"No component group {value}.")
    return group


def _set_component_status(component: Component, status: str) -> bool:
    if component.status == status:
        return False
    now = clock.now()
    component.status = status
    component.updated_at = now
    component.save(update_fields=["status", "updated_at", "manual"])
    ComponentStatusChange.objects.create(component=component, status=status, at=now)
    return True


# -- component groups and components ----------------------------------------------------------


def group_create(
    *, by: User | None, name: str, description: str = "", position: int | None = None
) -> ComponentGroup:
    if by is not None:
        require(by, "statuspage.manage")
    name = _name(name)
    description = _description(description)
    with transaction.atomic():
        if ComponentGroup.objects.filter(name=name).exists():
            raise field_error("name", f"A component group named {name!r} exists already.")
        now = clock.now()
        if position is None:
            position = ComponentGroup.objects.count() + 1
        group = ComponentGroup.objects.create(
            name=name, description=description, position=position, created_at=now, updated_at=now
        )
        audit_record(by=by, kind="statuspage_group_created", data={"group": name})
        page_bump()
    return group


def component_create(
    *,
    by: User | None,
    name: str,
    description: str = "",
    group: int | str | None = None,
    position: int | None = None,
    status: str = ComponentStatus.OPERATIONAL,
) -> Component:
    """Add a component to the page. `by=None` is the operator at the CLI or the demo."""
    if by is not None:
        require(by, "statuspage.manage")
    errors: list[FieldError] = []
    for check in (
        lambda: _name(name),
        lambda: _description(description),
        lambda: _status(status),
        lambda: _group_by_name_or_id(group),
    ):
        try:
            check()
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The component was not created.", errors)
    with transaction.atomic():
        clean = _name(name)
        if Component.objects.filter(name=clean).exists():
            raise field_error("name", f"A component named {clean!r} exists already.")
        now = clock.now()
        if position is None:
            position = Component.objects.count() + 1
        component = Component.objects.create(
            name=clean,
            description=_description(description),
            group=_group_by_name_or_id(group),
            position=position,
            status=status,
            manual=status != ComponentStatus.OPERATIONAL,
            start_date=now.date(),
            created_at=now,
            updated_at=now,
        )
        ComponentStatusChange.objects.create(component=component, status=status, at=now)
        audit_record(
            by=by, kind="statuspage_component_created", data={"component": clean, "status": status}
        )
        page_bump()
    return component


_UNSET: Any = object()


def component_update(
    *,
    by: User | None,
    component: Component | int | str,
    name: str | None = None,
    description: str | None = None,
    group: int | str | None = _UNSET,
    position: int | None = None,
    status: str | None = None,
    manual: bool | None = None,
) -> Component:
    """Edit a component. Setting `status` sets it by hand (it stops following incidents);
    `manual=False` hands it back to its incidents and maintenance."""
    if by is not None:
        require(by, "statuspage.manage")
    with transaction.atomic():
        pk = component.pk if isinstance(component, Component) else component
        current = component_get(pk)
        current = Component.objects.select_for_update().get(pk=current.pk)
        changes: dict[str, Any] = {}
        if name is not None:
            clean = _name(name)
            if Component.objects.filter(name=clean).exclude(pk=current.pk).exists():
                raise field_error("name", f"A component named {clean!r} exists already.")
            current.name = changes["name"] = clean
        if description is not None:
            current.description = changes["description"] = _description(description)
        if group is not _UNSET:
            new_group = _group_by_name_or_id(group)
            current.group = new_group
            changes["group"] = new_group.name if new_group else None
        if position is not None:
            if position < 0:
                raise field_error("position", "A position is zero or more.")
            current.position = changes["position"] = position
        current.updated_at = clock.now()
        current.save()
        if status is not None:
            _status(status)
            current.manual = True
            changes["status"] = status
            _set_component_status(current, status)
        elif manual is False and current.manual:
            current.manual = False
            changes["manual"] = False
            current.save(update_fields=["manual"])
            component_refresh(current)
        audit_record(
            by=by,
            kind="statuspage_component_updated",
            data={"component": current.name, "changes": changes},
        )
        page_bump()
    return current


def component_delete(*, by: User | None, component: Component | int | str) -> None:
    if by is not None:
        require(by, "statuspage.manage")
    with transaction.atomic():
        pk = component.pk if isinstance(component, Component) else component
        current = component_get(pk)
        audit_record(by=by, kind="statuspage_component_deleted", data={"component": current.name})
        current.delete()
        page_bump()


def component_refresh(component: Component) -> bool:
    """Recompute a component's status from its published open incidents and its maintenance
    in progress, unless it is set by hand. Only published incidents count: an unpublished
    (or private) incident must not show on the page, not even as a component's colour."""
    if component.manual:
        return False
    statuses = list(
        IncidentComponent.objects.filter(
            component=component,
            incident__status__in=[s.value for s in lifecycle.OPEN],
            incident__publication__isnull=False,
            incident__publication__withdrawn_at__isnull=True,
        ).values_list("status", flat=True)
    )
    if Maintenance.objects.filter(
        components=component,
        status__in=[MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING],
    ).exists():
        statuses.append(ComponentStatus.UNDER_MAINTENANCE)
    changed = _set_component_status(component, worst(statuses))
    if changed:
        page_bump()
    return changed


def components_refresh_for(incident: Incident) -> None:
    for component in Component.objects.filter(incidents__incident=incident).distinct():
        component_refresh(component)


# -- incidents and the components they affect --------------------------------------------------


def incident_link_component(
    *,
    by: User,
    incident: Incident | str,
    component: Component | int | str,
    status: str = ComponentStatus.MAJOR_OUTAGE,
) -> IncidentComponent:
    """Record that `incident` puts `component` in `status` (update the status by linking
    again). Documented on the incident's timeline."""
    require(by, "statuspage.link_components")
    _status(status)
    if status == ComponentStatus.OPERATIONAL:
        raise field_error(
            "status", "An incident affects a component: choose a status other than operational."
        )
    with transaction.atomic():
        ref = incident if isinstance(incident, str) else incident.ref
        locked = incident_get_for(by, ref, for_update=True)
        target = component_get(component.pk if isinstance(component, Component) else component)
        link, created = IncidentComponent.objects.get_or_create(
            incident=locked, component=target, defaults={"status": status}
        )
        previous = None if created else link.status
        if not created and link.status != status:
            link.status = status
            link.save(update_fields=["status"])
        timeline.append(
            locked,
            kind="statuspage_component_linked",
            by=by,
            data={"component": target.name, "status": status, "previous": previous},
        )
        locked.save()
        component_refresh(target)
        page_bump()
    return link


def incident_unlink_component(
    *, by: User, incident: Incident | str, component: Component | int | str
) -> None:
    require(by, "statuspage.link_components")
    with transaction.atomic():
        ref = incident if isinstance(incident, str) else incident.ref
        locked = incident_get_for(by, ref, for_update=True)
        target = component_get(component.pk if isinstance(component, Component) else component)
        deleted, _ = IncidentComponent.objects.filter(incident=locked, component=target).delete()
        if not deleted:
            raise NotFound(f"{locked.ref} does not affect {target.name}.")
        timeline.append(
            locked, kind="statuspage_component_unlinked", by=by, data={"component": target.name}
        )
        locked.save()
        component_refresh(target)
        page_bump()
