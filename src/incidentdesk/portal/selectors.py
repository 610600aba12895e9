"""Reads shared by the portal pages, the API, the e-mail intake and the team's pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import FileResponse

from incidentdesk.accounts.models import Role, User
from incidentdesk.core.errors import NotFound
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.kinds import EntryView, entries_for
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.search import ranked_incident_ids
from incidentdesk.incidents.selectors import parse_ref, visible_incidents
from incidentdesk.statuspage.selectors import (
    PublicIncident,
    public_incidents,
    public_publications,
)

from . import files
from .models import Attachment, Follow, HeldMail, HeldState, ReportDetails

PLAIN_STATUS = {
    "reported": "Received: the team will look at it shortly",
    "triaged": "Being looked at",
    "investigating": "The team is investigating",
    "identified": "The cause is found and a fix is under way",
    "monitoring": "Fixed; the team is watching that it stays fixed",
    "resolved": "Resolved",
    "closed": "Resolved and closed",
    "rejected": "Closed without action",
}

# an incident a stakeholder knows only from the status page, in the page's own words
PUBLIC_PLAIN_STATUS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "postmortem": "Resolved",
}


def plain_status(incident: Incident) -> str:
    if incident.status == lifecycle.Status.REJECTED and incident.duplicate_of_id:
        return f"Merged into INC-{incident.duplicate_of_id}: the same problem reported earlier"
    return PLAIN_STATUS.get(incident.status, incident.status)


@dataclass(frozen=True)
class LatestWord:
    """The team's latest word on an incident, as its portal list shows it."""

    body: str
    at: Any


def latest_word(incident: Incident) -> LatestWord | None:
    """The latest stakeholder update, unless the incident was resolved or closed without
    action after it: then what happened last (the resolution), never an earlier "we are
    investigating" that is no longer true."""
    updates = list(incident.public_updates.all())
    latest = max(updates, key=lambda u: (u.posted_at, u.seq), default=None)
    finished_at = None
    if incident.status in (lifecycle.Status.RESOLVED, lifecycle.Status.CLOSED):
        finished_at = incident.resolved_at
    elif incident.status == lifecycle.Status.REJECTED:
        finished_at = incident.rejected_at
    if finished_at is None or (latest is not None and latest.posted_at >= finished_at):
        return LatestWord(latest.body, latest.posted_at) if latest is not None else None
    if incident.status == lifecycle.Status.REJECTED:
        return LatestWord(f"{plain_status(incident)}. {incident.rejection_reason}", finished_at)
    summary = incident.resolution_summary
    return LatestWord(f"Resolved: {summary}" if summary else "Resolved.", finished_at)


def joinable_incidents(user: User) -> QuerySet[Incident]:
    """Open incidents a stakeholder may find and say it is affected by: those it already sees,
    and those on the public status page (known to it only by their public title and status
    until the team links its organisation)."""
    mine = visible_incidents(user).values("pk")
    published = public_publications().values("incident_id")
    return Incident.objects.filter(status__in=lifecycle.OPEN).filter(
        Q(pk__in=mine) | Q(pk__in=published)
    )


def similar_open_incidents(
    incident: Incident, *, viewer: User | None = None, limit: int = 5
) -> list[Incident]:
    """Open incidents with similar words and the same component (or none recorded), best
    first. With a stakeholder `viewer`, only incidents that viewer may find: show them to it
    through `suggestions_for`, which keeps to what it may see of each."""
    text = f"{incident.title}\n{incident.description}"
    ids = ranked_incident_ids(
        text, statuses=sorted(lifecycle.OPEN), exclude=incident.pk, limit=limit * 10
    )
    if not ids:
        return []
    qs = Incident.objects.filter(pk__in=ids, status__in=lifecycle.OPEN)
    if viewer is not None and viewer.role == Role.STAKEHOLDER:
        qs = qs.filter(pk__in=joinable_incidents(viewer).values("pk"))
    component_id = (
        ReportDetails.objects.filter(incident=incident).values_list("component_id", flat=True)
    ).first()
    if component_id is not None:
        qs = qs.filter(
            Q(report__isnull=True)
            | Q(report__component__isnull=True)
            | Q(report__component=component_id)
        )
    found = {i.pk: i for i in qs.select_related("report__component")}
    return [found[pk] for pk in ids if pk in found][:limit]


@dataclass(frozen=True)
class Suggestion:
    """An incident in a list as its reader may see it. One the reader cannot open appears
    by its public title and public status only (`linked` is False)."""

    ref: str
    title: str
    status: str
    plain_status: str
    linked: bool


def suggestions_for(user: User, incidents: list[Incident]) -> list[Suggestion]:
    """`incidents` as `user` may see them, in order; those it may not find are left out."""
    pks = [i.pk for i in incidents]
    seen = set(visible_incidents(user).filter(pk__in=pks).values_list("pk", flat=True))
    public: dict[int, PublicIncident] = {}
    hidden = [pk for pk in pks if pk not in seen]
    if hidden:
        rows = public_publications().filter(incident_id__in=hidden)
        incident_of = {str(p.pk): p.incident_id for p in rows}
        public = {incident_of[shown.id]: shown for shown in public_incidents(rows)}
    result = []
    for incident in incidents:
        if incident.pk in seen:
            result.append(
                Suggestion(
                    incident.ref, incident.title, incident.status, plain_status(incident), True
                )
            )
        elif incident.pk in public:
            shown = public[incident.pk]
            plain = PUBLIC_PLAIN_STATUS.get(shown.status, shown.status)
            result.append(Suggestion(incident.ref, shown.name, shown.status, plain, False))
    return result


def suggestion_for(user: User, incident: Incident) -> Suggestion | None:
    found = suggestions_for(user, [incident])
    return found[0] if found else None


def portal_incidents(user: User) -> QuerySet[Incident]:
    """ "Our incidents": what the user's organisation reported or is affected by."""
    return (
        visible_incidents(user)
        .select_related("reporter", "reporter_org")
        .prefetch_related("info_requests", "public_updates")
        .order_by("-pk")
    )


def portal_incident_get(user: User, ref: str) -> Incident:
    """The incident if `user` may see it, NotFound otherwise (refs do not leak)."""
    incident = (
        visible_incidents(user)
        .select_related("reporter", "reporter_org")
        .filter(pk=parse_ref(ref))
        .first()
    )
    if incident is None:
        raise NotFound(f"No incident {ref}.")
    return incident


def conversation(user: User, incident: Incident) -> list[EntryView]:
    """The entries `user` may read on the incident's page, as it may read them."""
    return entries_for(user, incident)


def join_requests(incident: Incident) -> list[dict[str, Any]]:
    """Organisations that said they are affected too and are not linked yet, oldest first,
    each with the people who asked."""
    linked = set(incident.affected_orgs.values_list("pk", flat=True))
    if incident.reporter_org_id is not None:
        linked.add(incident.reporter_org_id)
    pending: dict[Any, dict[str, Any]] = {}
    for entry in incident.timeline.filter(kind="org_join_requested").order_by("seq"):
        org_id = entry.data.get("organisation_id")
        if org_id in linked:
            continue
        item = pending.setdefault(
            org_id, {"organisation": entry.data.get("organisation"), "people": [], "at": entry.at}
        )
        if entry.actor_label not in item["people"]:
            item["people"].append(entry.actor_label)
    return list(pending.values())


def report_details(incident: Incident) -> ReportDetails | None:
    return ReportDetails.objects.filter(incident=incident).select_related("component").first()


def incident_attachments(incident: Incident) -> QuerySet[Attachment]:
    return Attachment.objects.filter(incident=incident).select_related("uploaded_by")


def attachment_get_for(user: User, attachment_id: int) -> Attachment:
    """The attachment if `user` may see its incident; NotFound otherwise."""
    attachment = (
        Attachment.objects.filter(pk=attachment_id, incident__in=visible_incidents(user))
        .select_related("incident")
        .first()
    )
    if attachment is None:
        raise NotFound("No such file.")
    return attachment


def attachment_download(user: User, attachment_id: int) -> FileResponse:
    """The evidence file as a download no browser renders inline, for the API and the pages
    alike. NotFound when `user` may not see its incident or the file is gone."""
    item = attachment_get_for(user, attachment_id)
    path = files.path_of(item.stored_as)
    if not path.exists():
        raise NotFound("No such file.")
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=item.filename,
        content_type=item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def is_following(user: User, incident: Incident) -> bool:
    return Follow.objects.filter(incident=incident, user=user).exists()


def mail_sender(address: str) -> User | None:
    """The active stakeholder of an active organisation registered with this address."""
    if not address:
        return None
    return User.objects.filter(
        email=address.lower(), is_active=True, role=Role.STAKEHOLDER, organisation__active=True
    ).first()


HELD_PAGE = 100


def held_mail_waiting() -> QuerySet[HeldMail]:
    """Held mail the team has not decided on yet, newest first (the page shows HELD_PAGE)."""
    return HeldMail.objects.filter(state=HeldState.HELD).order_by("-received_at", "-id")
