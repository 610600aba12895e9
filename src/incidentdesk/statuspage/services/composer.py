"""The public update composer: the team writes an update once and one action posts it to the
status page (when the incident is published), tells the incident's stakeholders and the
page's subscribers, and sets the components it affects. Its previews are that same action run
and rolled back, rendered by the templates each channel uses, so what is previewed is what is
sent."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.comms.routing import Preview, preview_for
from incidentdesk.core.errors import FieldError, InvalidInput
from incidentdesk.core.text import clean
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident, PublicStatus, PublicUpdate, TimelineEntry
from incidentdesk.incidents.selectors import incident_lock

from .. import selectors
from ..models import Component, ComponentStatus, IncidentComponent, Publication
from ..subscriptions import incident_message, subscribers_of
from .components import component_refresh, page_bump

TITLE_MAX = 200
BODY_MAX = 5000
# the composer's choice for a component the incident does not (or no longer) affect
NOT_AFFECTED = ComponentStatus.OPERATIONAL.value
COMPONENT_CHOICES = [
    (NOT_AFFECTED, "Not affected"),
    *[(v, label) for v, label in ComponentStatus.choices if v != NOT_AFFECTED],
]


@dataclass(frozen=True)
class Previews:
    """What each channel will carry. `status_page`: the incident as the public will see it
    (None when it is not on the page); `subscriber` / `stakeholder`: (subject, body) of
    their e-mail and how many get it (None: nobody of them is told)."""

    status_page: selectors.PublicIncident | None
    stakeholder: Preview | None
    subscriber: Preview | None


class _DryRun(Exception):
    def __init__(self, previews: Previews) -> None:
        self.previews = previews


def _check(
    status: str, body: str, title: str | None, components: dict[str, str] | None
) -> tuple[str, str | None, dict[Component, str]]:
    errors: list[FieldError] = []
    if status not in PublicStatus.values:
        errors.append(
            FieldError("status", f"Public status is one of: {', '.join(PublicStatus.values)}.")
        )
    try:
        body = clean("body", body, limit=BODY_MAX)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if title is not None:
        try:
            title = clean("title", title, limit=TITLE_MAX, multiline=False, label="Public title")
        except InvalidInput as exc:
            errors.extend(exc.errors)
    chosen = _chosen(components, errors)
    if errors:
        raise InvalidInput("The update was not posted.", errors)
    return body, title, chosen


def _chosen(components: dict[str, str] | None, errors: list[FieldError]) -> dict[Component, str]:
    """component id -> status, as posted, read into components; mistakes go to `errors`."""
    chosen: dict[Component, str] = {}
    for key, value in (components or {}).items():
        component = Component.objects.filter(pk=int(key)).first() if key.isdigit() else None
        if component is None:
            errors.append(FieldError("components", f"No component {key}."))
        elif value not in dict(COMPONENT_CHOICES):
            errors.append(FieldError("components", f"{component.name}: unknown status {value!r}."))
        else:
            chosen[component] = value
    return chosen


def incident_communicate(
    *,
    by: User,
    incident: Incident | str,
    status: str,
    body: str,
    title: str | None = None,
    components: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> PublicUpdate:
    """Post one public update: `status` (investigating, identified, monitoring, resolved) and
    `body`; `title` renames the incident for the public (its status page title too);
    `components` maps a component's id to the status this incident puts it in ("operational":
    not affected). One timeline entry documents all of it; the status page, the stakeholders'
    e-mail and the subscribers' follow from that entry in the same transaction."""
    require(by, "incident.post_update")
    body, title, chosen = _check(status, body, title, components)
    with transaction.atomic():
        locked = incident_lock(by, incident, expected_version)
        extra: dict[str, object] = {}
        if title and title != locked.public_title:
            locked.public_title = title
            locked.save(update_fields=["public_title"])
            Publication.objects.filter(incident=locked, summary_only=False).update(
                public_title=title
            )
            extra["title"] = title
        if chosen:
            extra["components"] = _apply_components(locked, chosen)
        return incidents.incident_post_update(
            by=by,
            incident=locked.ref,
            status=status,
            body=body,
            expected_version=expected_version,
            extra=extra,
        )


def incident_components_set(
    *,
    by: User,
    incident: Incident | str,
    components: dict[str, str],
    expected_version: int | None = None,
) -> list[dict[str, str]]:
    """Set which components `incident` affects and the status it puts each in, without a
    public update (the composer's "Save components only"): `components` maps a component's
    id to a status ("operational": not affected). Each change is a timeline entry (a
    component affected, or no longer affected) and the page follows in the same transaction.
    Returns what changed, in words; nothing changed writes nothing."""
    require(by, "statuspage.link_components")
    errors: list[FieldError] = []
    chosen = _chosen(components, errors)
    if errors:
        raise InvalidInput("The components were not saved.", errors)
    with transaction.atomic():
        locked = incident_lock(by, incident, expected_version)
        previous = {
            link.component_id: link.status
            for link in IncidentComponent.objects.filter(incident=locked)
        }
        changed = _apply_components(locked, chosen)
        if not changed:
            return []
        by_name = {c.name: c for c in chosen}
        for change in changed:
            component = by_name[change["component"]]
            if change["status"] == NOT_AFFECTED:
                timeline.append(
                    locked,
                    kind="statuspage_component_unlinked",
                    by=by,
                    data={"component": component.name},
                )
            else:
                timeline.append(
                    locked,
                    kind="statuspage_component_linked",
                    by=by,
                    data={
                        "component": component.name,
                        "status": change["status"],
                        "previous": previous.get(component.pk),
                    },
                )
        locked.save()
        for component in by_name.values():
            component_refresh(component)
        page_bump()
    return changed


def _apply_components(incident: Incident, chosen: dict[Component, str]) -> list[dict[str, str]]:
    """Set the incident's links to the chosen components; the entry the update appends then
    refreshes their status on the page. Returns what changed, in words, for that entry."""
    changed = []
    for component, value in sorted(chosen.items(), key=lambda c: (c[0].position, c[0].name)):
        link = IncidentComponent.objects.filter(incident=incident, component=component).first()
        if value == NOT_AFFECTED:
            if link is None:
                continue
            link.delete()
        elif link is None:
            IncidentComponent.objects.create(incident=incident, component=component, status=value)
        elif link.status != value:
            link.status = value
            link.save(update_fields=["status"])
        else:
            continue
        changed.append({"component": component.name, "status": value})
    return changed


def incident_communicate_preview(
    *,
    by: User,
    incident: Incident | str,
    status: str,
    body: str,
    title: str | None = None,
    components: dict[str, str] | None = None,
) -> Previews:
    """What `incident_communicate` with these arguments would show and send, per channel.
    The action runs for real and is rolled back: nothing is written, queued or sent."""
    try:
        with transaction.atomic():
            update = incident_communicate(
                by=by,
                incident=incident,
                status=status,
                body=body,
                title=title,
                components=components,
            )
            raise _DryRun(_previews(update))
    except _DryRun as done:
        return done.previews


def published(incident: Incident) -> selectors.PublicIncident | None:
    """The incident as the public sees it now, or None when it is not on the page."""
    publication = Publication.objects.filter(incident=incident).first()
    if publication is None:
        return None
    return selectors.incident_by_public_id(str(publication.pk))


def _previews(update: PublicUpdate) -> Previews:
    incident = Incident.objects.get(pk=update.incident_id)
    entry = TimelineEntry.objects.get(incident=incident, seq=update.seq)
    public = published(incident)
    subscriber = None
    if public is not None:
        subject, text = incident_message(public)
        subscriber = Preview(subject, text, subscribers_of(public))
    return Previews(
        status_page=public,
        stakeholder=preview_for(incident, entry, "stakeholders"),
        subscriber=subscriber,
    )
