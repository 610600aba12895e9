"""Every change to the public status page. Each checks permission, writes, documents the
action (the incident's timeline, or the audit log outside an incident) and bumps the page's
version in one transaction. Nothing else writes the status page's tables."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import clean
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident, PublicStatus
from incidentdesk.incidents.selectors import incident_lock, policy_for

from ..models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Publication,
)
from ..tasks import notify_incident
from .components import BODY_MAX as BODY_MAX
from .components import TITLE_MAX as TITLE_MAX
from .components import component_get as component_get
from .components import component_refresh as component_refresh
from .components import components_refresh_for as components_refresh_for
from .components import page_bump as page_bump
from .components import set_component_status

NAME_MAX = 100
DESCRIPTION_MAX = 2000
PUBLIC_STATUSES = [*PublicStatus.values, "postmortem"]


# -- helpers -------------------------------------------------------------------------------


def _name(value: str | None, field: str = "name") -> str:
    return clean(field, value, limit=NAME_MAX, multiline=False, label="A name")


def _description(value: str | None) -> str:
    return clean("description", value, limit=DESCRIPTION_MAX, required=False)


def _status(value: str, field: str = "status") -> ComponentStatus:
    if value not in ComponentStatus.values:
        raise field_error(
            field, f"Unknown status {value!r} (known: {', '.join(ComponentStatus.values)})."
        )
    return ComponentStatus(value)


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
        new_name = _name(name)
        if Component.objects.filter(name=new_name).exists():
            raise field_error("name", f"A component named {new_name!r} exists already.")
        now = clock.now()
        if position is None:
            position = Component.objects.count() + 1
        component = Component.objects.create(
            name=new_name,
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
            by=by,
            kind="statuspage_component_created",
            data={"component": new_name, "status": status},
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
            new_name = _name(name)
            if Component.objects.filter(name=new_name).exclude(pk=current.pk).exists():
                raise field_error("name", f"A component named {new_name!r} exists already.")
            current.name = changes["name"] = new_name
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
            set_component_status(current, status)
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
        locked = incident_lock(by, incident)
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
        locked = incident_lock(by, incident)
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


# -- publishing incidents ----------------------------------------------------------------------


def is_confidential(incident: Incident) -> bool:
    """Private incidents, and incidents of a type the policy keeps private (Security), never
    appear on the page except through a manager's public summary."""
    if incident.private:
        return True
    if not incident.type:
        return False
    policy = policy_for(incident)
    kind = policy.types.get(incident.type)
    return bool(kind and kind.private)


def _publication_for(incident: Incident) -> Publication | None:
    return Publication.objects.filter(incident=incident).first()


def _publish(
    incident: Incident,
    *,
    by: User | None,
    title: str,
    body: str,
    summary_only: bool,
    summary_status: str = "",
    automatic: bool = False,
) -> Publication:
    """Create or renew the publication of the locked `incident` and document it. The caller
    saves the incident."""
    now = clock.now()
    publication = _publication_for(incident)
    if publication is None:
        publication = Publication(incident=incident, published_at=now)
    publication.public_title = title
    publication.public_body = body
    publication.summary_only = summary_only
    publication.summary_status = summary_status
    publication.published_by = by
    publication.automatic = automatic
    publication.withdrawn_at = None
    publication.save()
    timeline.append(
        incident,
        kind="statuspage_published",
        by=by,
        data={
            "title": title,
            "summary_only": summary_only,
            "summary_status": summary_status,
            "automatic": automatic,
        },
    )
    subscribers_notice_queue(publication.pk, "published")
    return publication


def incident_publish(
    *, by: User, incident: Incident | str, title: str | None = None, body: str = ""
) -> Publication:
    """Show a non-private incident on the public page; its public updates become its posts."""
    require(by, "statuspage.publish")
    with transaction.atomic():
        locked = incident_lock(by, incident)
        if is_confidential(locked):
            raise Conflict(
                f"{locked.ref} is private: only a manager can publish a public summary of it."
            )
        existing = _publication_for(locked)
        if existing is not None and existing.withdrawn_at is None:
            raise Conflict(f"{locked.ref} is on the status page already.")
        clean_title = clean("title", title or locked.title, limit=TITLE_MAX, multiline=False)
        publication = _publish(
            locked,
            by=by,
            title=clean_title,
            body=clean("body", body, limit=BODY_MAX, required=False),
            summary_only=False,
        )
        locked.save()
        components_refresh_for(locked)
        page_bump()
    return publication


def incident_publish_summary(
    *,
    by: User,
    incident: Incident | str,
    title: str,
    body: str,
    status: str = PublicStatus.INVESTIGATING,
) -> Publication:
    """Show only the given summary of an incident, private or not: its title, internal posts
    and everything else stay off the page. Publishing again replaces the summary."""
    require(by, "statuspage.publish_summary")
    errors: list[FieldError] = []
    cleaned: dict[str, str] = {}
    for field, check in (
        ("title", lambda: clean("title", title, limit=TITLE_MAX, multiline=False)),
        ("body", lambda: clean("body", body, limit=BODY_MAX)),
        ("status", lambda: _public_status(status)),
    ):
        try:
            cleaned[field] = check()
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The summary was not published.", errors)
    with transaction.atomic():
        locked = incident_lock(by, incident)
        publication = _publish(
            locked,
            by=by,
            title=cleaned["title"],
            body=cleaned["body"],
            summary_only=True,
            summary_status=status,
        )
        locked.save()
        components_refresh_for(locked)
        page_bump()
    return publication


def incident_unpublish(*, by: User, incident: Incident | str) -> Publication:
    require(by, "statuspage.publish")
    with transaction.atomic():
        locked = incident_lock(by, incident)
        publication = _publication_for(locked)
        if publication is None or publication.withdrawn_at is not None:
            raise NotFound(f"{locked.ref} is not on the status page.")
        if publication.summary_only:
            require(by, "statuspage.publish_summary")
        publication.withdrawn_at = clock.now()
        publication.save(update_fields=["withdrawn_at"])
        timeline.append(locked, kind="statuspage_withdrawn", by=by, data={})
        locked.save()
        components_refresh_for(locked)
        page_bump()
    return publication


def _public_status(value: str) -> str:
    if value not in PUBLIC_STATUSES:
        raise field_error("status", f"Public status is one of: {', '.join(PUBLIC_STATUSES)}.")
    return value


# -- reacting to what happens on incidents -----------------------------------------------------

REVIEW_PUBLISHED = ("review_published", "postmortem_published")
# entries that change nothing the public page shows; a new report has no publication and no
# component yet (each is linked by an action, and an entry, of its own). The periodic checks'
# entries are here too: at years of history each run writes hundreds of them.
QUIET_KINDS = frozenset(
    {
        "note",
        "delivered",
        "delivery_failed",
        "delivery_retried",
        "review_commented",
        "reported",
        "sla_due_soon",
        "sla_breached",
        "review_due",
        "action_item_due_soon",
        "action_item_overdue",
        "paged",
        "paging_waits",
        "paging_stopped",
        "page_test",
    }
)


def on_entry_appended(sender: Any, incident: Incident, entry: Any, **kwargs: Any) -> None:
    """Keep the page in step with its incidents, inside the transaction of each action."""
    if entry.kind.startswith("statuspage_") or entry.kind in QUIET_KINDS:
        return
    publication = _publication_for(incident)
    if publication is None:
        if entry.kind == "categorized" and _auto_publishes(incident):
            _publish(
                incident,
                by=None,
                title=_automatic_title(incident),
                body="",
                summary_only=False,
                automatic=True,
            )
            components_refresh_for(incident)
            page_bump()
        elif IncidentComponent.objects.filter(incident=incident).exists():
            page_bump()
        return
    if (
        publication.withdrawn_at is None
        and not publication.summary_only
        and is_confidential(incident)
    ):
        # it became private (e.g. categorized as Security) after it was published
        publication.withdrawn_at = clock.now()
        publication.save(update_fields=["withdrawn_at"])
    if entry.kind in REVIEW_PUBLISHED:
        # the review's public summary is the postmortem post; a new revision replaces it
        publication.postmortem_at = publication.postmortem_at or clock.now()
        publication.postmortem_body = str((entry.data or {}).get("public_summary") or "")
        publication.save(update_fields=["postmortem_at", "postmortem_body"])
    if entry.kind == "public_update" and not publication.summary_only:
        subscribers_notice_queue(publication.pk, "updated")
    components_refresh_for(incident)
    page_bump()


def _automatic_title(incident: Incident) -> str:
    """The title of an incident published by the policy rather than a person: the one the
    team wrote for the public, else its type in neutral words, never the reporter's title."""
    if incident.public_title:
        return incident.public_title
    kind = policy_for(incident).types.get(incident.type)
    return f"{kind.label} problem" if kind else "Reported problem"


def _auto_publishes(incident: Incident) -> bool:
    if is_confidential(incident) or not incident.severity:
        return False
    severity = policy_for(incident).severities.get(incident.severity)
    return bool(severity and severity.auto_publish)


def subscribers_notice_queue(publication_id: int, event: str) -> None:
    """Queue the subscribers' notification in the current transaction: the worker builds
    and sends it once the action has committed."""
    notify_incident.enqueue(publication_id, event)


# scheduled maintenance lives in its own module; its services are this package's too
from .composer import COMPONENT_CHOICES as COMPONENT_CHOICES  # noqa: E402
from .composer import incident_communicate as incident_communicate  # noqa: E402
from .composer import incident_communicate_preview as incident_communicate_preview  # noqa: E402
from .composer import incident_components_set as incident_components_set  # noqa: E402
from .composer import published as published  # noqa: E402
from .maintenance import MAINTENANCE_ORDER as MAINTENANCE_ORDER  # noqa: E402
from .maintenance import MAINTENANCE_TEXT as MAINTENANCE_TEXT  # noqa: E402
from .maintenance import maintenance_get as maintenance_get  # noqa: E402
from .maintenance import maintenance_post as maintenance_post  # noqa: E402
from .maintenance import maintenance_schedule as maintenance_schedule  # noqa: E402
from .maintenance import maintenance_tick as maintenance_tick  # noqa: E402
