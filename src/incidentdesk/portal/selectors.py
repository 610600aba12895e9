"""Reads shared by the portal pages, the API, the e-mail intake and the team's pages."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from incidentdesk.accounts.models import Role, User
from incidentdesk.core.errors import NotFound
from incidentdesk.incidents import lifecycle
from incidentdesk.incidents.models import Incident, PublicUpdate, TimelineEntry
from incidentdesk.incidents.selectors import parse_ref, visible_incidents

from .models import Attachment, Follow, HeldMail, HeldState, ReportDetails
from .search import ranked_incident_ids

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

# timeline entries a stakeholder sees on the incident's page, in order
CONVERSATION_KINDS = (
    "reported",
    "report_details",
    "public_update",
    "info_requested",
    "info_provided",
    "stakeholder_comment",
    "org_joined",
    "resolved",
    "closed",
    "rejected",
    "reopened",
    "merged",
)


def plain_status(incident: Incident) -> str:
    if incident.status == lifecycle.Status.REJECTED and incident.duplicate_of_id:
        return f"Merged into INC-{incident.duplicate_of_id}: the same problem reported earlier"
    return PLAIN_STATUS.get(incident.status, incident.status)


def joinable_incidents(user: User) -> QuerySet[Incident]:
    """Open incidents a stakeholder may find and join: those it already sees, and those the
    team has announced to stakeholders (a public update on a non-private incident). Other
    organisations' unannounced reports stay invisible."""
    announced = PublicUpdate.objects.filter(incident_id=OuterRef("pk"))
    mine = visible_incidents(user).values("pk")
    return Incident.objects.filter(status__in=lifecycle.OPEN).filter(
        Q(pk__in=mine) | (Q(private=False) & Exists(announced))
    )


def similar_open_incidents(
    incident: Incident, *, viewer: User | None = None, limit: int = 5
) -> list[Incident]:
    """Open incidents with similar words and the same component (or none recorded), best
    first. With a stakeholder `viewer`, only incidents that viewer may find."""
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


def conversation(incident: Incident) -> QuerySet[TimelineEntry]:
    return incident.timeline.filter(kind__in=CONVERSATION_KINDS).order_by("seq")


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


def is_following(user: User, incident: Incident) -> bool:
    return Follow.objects.filter(incident=incident, user=user).exists()


def followers(incident: Incident) -> QuerySet[User]:
    """People to tell about the incident's progress."""
    return User.objects.filter(follows__incident=incident, is_active=True)


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
