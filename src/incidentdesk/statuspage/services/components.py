"""The components' status and the page's version, which the incidents, the components and the
scheduled maintenance all change."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import F

from incidentdesk.core import clock
from incidentdesk.core.errors import NotFound
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.models import Incident

from .. import cache, prepared
from ..models import (
    Component,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    PageState,
    Publication,
    worst,
)
from ..tasks import notify_component

TITLE_MAX = 200
BODY_MAX = 5000


# -- the page's version: names every cached response ------------------------------------------


def page_bump() -> None:
    """Mark everything the public page shows as changed. Call inside the changing transaction:
    a rolled-back change leaves the version alone. Once it commits, the prepared public front
    is rendered again: in a serving process by its renderer, off the request's path."""
    now = clock.now()
    token = secrets.token_hex(8)
    updated = PageState.objects.filter(pk=1).update(
        version=F("version") + 1, changed_at=now, token=token
    )
    if not updated:
        PageState.objects.get_or_create(
            pk=1, defaults={"version": 2, "changed_at": now, "token": token}
        )
    cache.forget()
    transaction.on_commit(prepared.changed, robust=True)


def component_get(component_id: int | str) -> Component:
    try:
        pk = int(component_id)
    except (TypeError, ValueError):
        raise NotFound(f"No component {component_id}.") from None
    component = Component.objects.select_related("group").filter(pk=pk).first()
    if component is None:
        raise NotFound(f"No component {component_id}.")
    return component


def set_component_status(component: Component, status: str) -> bool:
    """The one place a component's status changes: recorded for the uptime history, and
    announced to webhook subscribers as a Statuspage `component_update`."""
    if component.status == status:
        return False
    now = clock.now()
    old = component.status
    component.status = status
    component.updated_at = now
    component.save(update_fields=["status", "updated_at", "manual"])
    change = ComponentStatusChange.objects.create(component=component, status=status, at=now)

    notify_component.enqueue(change.pk, old)
    return True


def component_refresh(component: Component, pending: Incident | None = None) -> bool:
    """Recompute a component's status from its published open incidents and its maintenance
    in progress, unless it is set by hand. Only incidents published in full count: an
    unpublished or private one (even with a public summary) must not show on the page, not
    even as a component's colour. `pending` is an incident changed in memory but not saved
    yet (a timeline receiver runs before its action saves): it is judged as it is now."""
    if component.manual:
        return False
    links = IncidentComponent.objects.filter(
        component=component,
        incident__status__in=[s.value for s in lifecycle.OPEN],
        incident__publication__isnull=False,
        incident__publication__withdrawn_at__isnull=True,
        incident__publication__summary_only=False,
        incident__private=False,
    )
    if pending is not None:
        links = links.exclude(incident=pending)
    statuses = list(links.values_list("status", flat=True))
    if pending is not None and _counts_for_components(pending):
        statuses += list(
            IncidentComponent.objects.filter(component=component, incident=pending).values_list(
                "status", flat=True
            )
        )
    if Maintenance.objects.filter(
        components=component,
        status__in=[MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING],
    ).exists():
        statuses.append(ComponentStatus.UNDER_MAINTENANCE)
    changed = set_component_status(component, worst(statuses))
    if changed:
        page_bump()
    return changed


def _counts_for_components(incident: Incident) -> bool:
    if incident.status not in lifecycle.OPEN or incident.private:
        return False
    publication = Publication.objects.filter(incident=incident).first()
    return bool(publication and publication.withdrawn_at is None and not publication.summary_only)


def components_refresh_for(incident: Incident) -> None:
    for component in Component.objects.filter(incidents__incident=incident).distinct():
        component_refresh(component, pending=incident)
