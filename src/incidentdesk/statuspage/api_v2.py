"""The Atlassian Statuspage v2 read API (`/api/v2/*.json`): the same field names, types,
enum values and timestamp format, so that widgets and tools written for Statuspage read this
page by changing only the base URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from . import selectors
from .models import (
    Component,
    ComponentGroup,
    Maintenance,
    MaintenanceStatus,
    Subscriber,
    SubscriberKind,
)
from .selectors import PublicIncident

PAGE_ID = "incidentdesk"


def ts(value: dt.datetime | None) -> str | None:
    """Statuspage's timestamps: ISO 8601 with milliseconds and the UTC offset."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def page_json(updated_at: dt.datetime) -> dict[str, Any]:
    return {
        "id": getattr(settings, "STATUSPAGE_PAGE_ID", PAGE_ID),
        "name": selectors.page_name(),
        "url": selectors.base_url().rstrip("/"),
        "time_zone": "Etc/UTC",
        "updated_at": ts(updated_at),
    }


def meta_json() -> dict[str, Any]:
    return {
        "unsubscribe": None,
        "documentation": "https://doers.statuspage.io/customer-notifications/webhooks/",
    }


def component_json(component: Component, status: str | None = None) -> dict[str, Any]:
    return {
        "id": str(component.pk),
        "name": component.name,
        "status": status or component.status,
        "created_at": ts(component.created_at),
        "updated_at": ts(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": f"g{component.group_id}" if component.group_id else None,
        "page_id": PAGE_ID,
        "group": False,
        "only_show_if_degraded": False,
    }


def group_json(group: ComponentGroup, members: list[Component]) -> dict[str, Any]:
    status = selectors.worst_status([c.status for c in members])
    return {
        "id": f"g{group.pk}",
        "name": group.name,
        "status": status,
        "created_at": ts(group.created_at),
        "updated_at": ts(max([group.updated_at, *(c.updated_at for c in members)])),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": PAGE_ID,
        "group": True,
        "only_show_if_degraded": False,
        "components": [str(c.pk) for c in members],
    }


def components_json(items: list[Component], groups: list[ComponentGroup]) -> list[dict[str, Any]]:
    out = [component_json(c) for c in items]
    for group in groups:
        members = [c for c in items if c.group_id == group.pk]
        if members:
            out.append(group_json(group, members))
    return out


def incident_json(incident: PublicIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": ts(incident.created_at),
        "updated_at": ts(incident.updated_at),
        "monitoring_at": ts(incident.monitoring_at),
        "resolved_at": ts(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": settings.BASE_URL + incident.permalink,
        "started_at": ts(incident.started_at),
        "page_id": PAGE_ID,
        "incident_updates": [
            {
                "id": post.id,
                "status": post.status,
                "body": post.body,
                "incident_id": incident.id,
                "created_at": ts(post.created_at),
                "updated_at": ts(post.created_at),
                "display_at": ts(post.created_at),
                "affected_components": [
                    {
                        "code": str(c.pk),
                        "name": c.name,
                        "old_status": "operational",
                        "new_status": status,
                    }
                    for c, status in post.components
                ]
                or None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for post in incident.posts
        ],
        "components": [component_json(c, status) for c, status in incident.components],
    }


def maintenance_json(m: Maintenance) -> dict[str, Any]:
    updates = sorted(m.updates.all(), key=lambda u: (u.at, u.pk), reverse=True)
    done = m.status == MaintenanceStatus.COMPLETED
    verifying = [u.at for u in updates if u.status == MaintenanceStatus.VERIFYING]
    return {
        "id": f"m{m.pk}",
        "name": m.name,
        "status": m.status,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
        "monitoring_at": ts(verifying[-1]) if verifying else None,
        "resolved_at": ts(m.resolved_at) if done else None,
        "impact": "maintenance",
        "shortlink": settings.BASE_URL + f"/status/maintenance/{m.pk}/",
        "started_at": ts(m.started_at or m.scheduled_for),
        "page_id": PAGE_ID,
        "incident_updates": [
            {
                "id": f"mu{u.pk}",
                "status": u.status,
                "body": u.body,
                "incident_id": f"m{m.pk}",
                "created_at": ts(u.at),
                "updated_at": ts(u.at),
                "display_at": ts(u.at),
                "affected_components": [
                    {
                        "code": str(c.pk),
                        "name": c.name,
                        "old_status": "operational",
                        "new_status": "under_maintenance",
                    }
                    for c in m.components.all()
                ]
                or None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for u in updates
        ],
        "components": [component_json(c) for c in m.components.all()],
        "scheduled_for": ts(m.scheduled_for),
        "scheduled_until": ts(m.scheduled_until),
    }


def subscriber_json(
    *, kind: str, address: str, created_at: dt.datetime, handle: str, components: list[int]
) -> dict[str, Any]:
    """Statuspage's public subscriber object. `id` is the handle its asker holds."""
    webhook = kind == SubscriberKind.WEBHOOK
    return {
        "id": handle,
        "mode": "webhook" if webhook else "email",
        "email": None if webhook else address,
        "endpoint": address if webhook else None,
        "created_at": ts(created_at),
        "quarantined_at": None,
        "purge_at": None,
        "skip_confirmation_notification": False,
        "incident": None,
        "components": [str(pk) for pk in components],
    }


def subscription_json(subscriber: Subscriber, handle: str) -> dict[str, Any]:
    return subscriber_json(
        kind=subscriber.kind,
        address=subscriber.address,
        created_at=subscriber.created_at,
        handle=handle,
        components=[c.pk for c in subscriber.components.all()],
    )


# -- documents -------------------------------------------------------------------------------


def status_doc(changed_at: dt.datetime) -> dict[str, Any]:
    items = selectors.components()
    indicator = selectors.overall_indicator(items, selectors.unresolved_incidents())
    return {
        "page": page_json(changed_at),
        "status": {
            "indicator": indicator,
            "description": selectors.overall_description(indicator, items),
        },
    }


def summary_doc(changed_at: dt.datetime) -> dict[str, Any]:
    items = selectors.components()
    unresolved = selectors.unresolved_incidents()
    indicator = selectors.overall_indicator(items, unresolved)
    maint = selectors.active_maintenances() + selectors.upcoming_maintenances()
    return {
        "page": page_json(changed_at),
        "components": components_json(items, selectors.groups()),
        "incidents": [incident_json(i) for i in unresolved],
        "scheduled_maintenances": [maintenance_json(m) for m in maint],
        "status": {
            "indicator": indicator,
            "description": selectors.overall_description(indicator, items),
        },
    }


def components_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "components": components_json(selectors.components(), selectors.groups()),
    }


def incidents_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "incidents": [incident_json(i) for i in selectors.recent_incidents()],
    }


def unresolved_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "incidents": [incident_json(i) for i in selectors.unresolved_incidents()],
    }


def maintenances_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "scheduled_maintenances": [maintenance_json(m) for m in selectors.maintenances()],
    }


def upcoming_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "scheduled_maintenances": [maintenance_json(m) for m in selectors.upcoming_maintenances()],
    }


def active_doc(changed_at: dt.datetime) -> dict[str, Any]:
    return {
        "page": page_json(changed_at),
        "scheduled_maintenances": [maintenance_json(m) for m in selectors.active_maintenances()],
    }


DOCUMENTS = {
    "summary.json": summary_doc,
    "status.json": status_doc,
    "components.json": components_doc,
    "incidents.json": incidents_doc,
    "incidents/unresolved.json": unresolved_doc,
    "scheduled-maintenances.json": maintenances_doc,
    "scheduled-maintenances/upcoming.json": upcoming_doc,
    "scheduled-maintenances/active.json": active_doc,
}
