"""Every kind of timeline entry, declared once: its label in words and what each audience may
see of it.

Three audiences read an incident: the team (everything), the incident's stakeholders (people
of the organisations that reported it or are affected by it) and the public. An entry reaches
an audience only when its kind names the `data` fields that audience may see; a kind missing
here, or one that names no fields for an audience, stays with the team. Pages, the API,
exports and messages read entries through `entry_view` / `entries_for`, never `entry.data`
directly, so a new field written into an entry stays internal until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import can

from .models import Incident, TimelineEntry

# How the team signs entries it writes when others read them: team members stay unnamed.
TEAM_SIGNATURE = "The team"


class Audience(StrEnum):
    TEAM = "team"
    STAKEHOLDERS = "stakeholders"
    PUBLIC = "public"


@dataclass(frozen=True)
class Kind:
    """`stakeholders` / `public`: the data fields that audience sees, or None when the
    entry is not shown to it at all (an empty tuple shows the entry without its data)."""

    label: str
    stakeholders: tuple[str, ...] | None = None
    public: tuple[str, ...] | None = None
    # written by the product itself, possibly thousands at once (a delivery per recipient, an
    # SLA warning, an alert): the team's incident page counts these instead of listing them
    system: bool = False

    def fields_for(self, audience: Audience) -> tuple[str, ...] | None:
        if audience == Audience.TEAM:
            return None
        return self.stakeholders if audience == Audience.STAKEHOLDERS else self.public

    def shown_to(self, audience: Audience) -> bool:
        return audience == Audience.TEAM or self.fields_for(audience) is not None


KINDS: dict[str, Kind] = {
    # the incident's life (incidents.services)
    "reported": Kind("Reported", stakeholders=("title", "organisation", "started_at", "source")),
    "acknowledged": Kind("Acknowledged", stakeholders=()),
    "info_requested": Kind("Information requested", stakeholders=("request", "question")),
    "info_provided": Kind("Information provided", stakeholders=("request", "answer")),
    "categorized": Kind("Categorized"),
    "severity_changed": Kind("Severity changed"),
    # the roles: team members' names and addresses stay with the team
    "assigned": Kind("Incident lead"),
    "comms_lead_assigned": Kind("Communications lead"),
    "status_changed": Kind("Status changed"),
    "note": Kind("Internal note"),
    "public_update": Kind(
        "Stakeholder update", stakeholders=("status", "body"), public=("status", "body")
    ),
    "task_updated": Kind("Checklist"),
    "resolved": Kind("Resolved", stakeholders=("summary",)),
    "closed": Kind("Closed", stakeholders=()),
    "rejected": Kind("Rejected", stakeholders=("reason", "duplicate_of")),
    "reopened": Kind("Reopened", stakeholders=("to",)),
    "sla_due_soon": Kind("SLA due soon", system=True),
    "sla_breached": Kind("SLA breached", system=True),
    # the communication plan (comms)
    "delivered": Kind("Notified", system=True),
    "delivery_failed": Kind("Delivery failed", system=True),
    "delivery_retried": Kind("Delivery retried"),
    # the stakeholder portal
    "stakeholder_comment": Kind(
        "Stakeholder comment", stakeholders=("body", "attachments", "source")
    ),
    "report_details": Kind(
        "Report details",
        stakeholders=("problem_type", "component", "users_affected", "steps", "attachments"),
    ),
    "org_joined": Kind("Organisation joined", stakeholders=("organisation",)),
    "org_join_requested": Kind("Organisation asks to join"),
    "reporter_joined": Kind("Reporter joined"),
    "merged": Kind("Merged", stakeholders=("duplicate",)),
    "followed": Kind("Followed"),
    "unfollowed": Kind("Stopped following"),
    # the status page
    "statuspage_published": Kind("Published on status page"),
    "statuspage_withdrawn": Kind("Withdrawn from status page"),
    "statuspage_component_linked": Kind("Component affected"),
    "statuspage_component_unlinked": Kind("Component no longer affected"),
    "maintenance_scheduled": Kind("Maintenance scheduled"),
    "maintenance_updated": Kind("Maintenance"),
    # post-incident reviews
    "review_started": Kind("Review started"),
    "review_submitted": Kind("Review submitted"),
    "review_commented": Kind("Review comment"),
    "review_edited": Kind("Review edited"),
    "review_revised": Kind("Review revised"),
    "review_published": Kind("Review published"),
    "review_waived": Kind("Review waived"),
    "review_due": Kind("Review due", system=True),
    "action_item_added": Kind("Action item"),
    "action_item_updated": Kind("Action item updated"),
    "action_item_due_soon": Kind("Action item due soon", system=True),
    "action_item_overdue": Kind("Action item overdue", system=True),
    # alerts from monitoring (ingest): the team's own signals
    "alert_triggered": Kind("Alert", system=True),
    "alerts_resolved": Kind("Alerts resolved", system=True),
    "change_noted": Kind("Change", system=True),
    # paging the person on call (ingest.services.escalation)
    "paged": Kind("Paged"),
    "paging_waits": Kind("Paging waits"),
    "paging_stopped": Kind("Paging stopped"),
    "page_test": Kind("Test page"),
}

KIND_LABELS = {code: kind.label for code, kind in KINDS.items()}


def kind_of(code: str) -> Kind:
    """The declared kind; an undeclared one is labelled from its code and is the team's."""
    return KINDS.get(code) or Kind(code.replace("_", " ").capitalize())


def label(code: str) -> str:
    return kind_of(code).label


# who a notification went to (comms), in words
RECIPIENT_LABELS = {
    "manager": "Managers",
    "team": "The team",
    "assignee": "The assignee",
    "reporter": "The reporter",
    "stakeholders": "Stakeholders",
    "subscribers": "Status page subscribers",
    "page": "On call",
}

# a delivery sent by hand rather than by a timeline entry
DIRECT_TRIGGER_LABEL = "Sent directly"


def trigger_label(code: str) -> str:
    """A notification trigger is the kind of entry that caused it: its label is the kind's."""
    return label(code) if code else DIRECT_TRIGGER_LABEL


def recipient_label(code: str) -> str:
    if not code:
        return "—"
    return RECIPIENT_LABELS.get(code, code.replace("_", " ").capitalize())


# the people's entries: what a person did or wrote (notes, status changes, assignments,
# reports, messages); the incident page lists these and sums up the rest
PEOPLE_KINDS = tuple(code for code, kind in KINDS.items() if not kind.system)
SYSTEM_KINDS = tuple(code for code, kind in KINDS.items() if kind.system)
# the outcomes of the communication plan's deliveries, summed up as one line
DELIVERY_KINDS = {"delivered": "sent", "delivery_failed": "failed"}


def kinds_shown_to(audience: Audience) -> list[str]:
    return [code for code, kind in KINDS.items() if kind.shown_to(audience)]


def audience_of(user: User) -> Audience:
    """The team reads everything; everyone else who may open an incident is its stakeholder."""
    return Audience.TEAM if can(user, "incident.view_internal") else Audience.STAKEHOLDERS


@dataclass(frozen=True)
class EntryView:
    """One entry as an audience sees it. Hashes are the team's: over a known entry, a hash
    would let an outsider test guesses of the fields held back."""

    seq: int
    kind: str
    label: str
    actor: str
    at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""
    by_team: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "label": self.label,
            "actor": self.actor,
            "at": self.at,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _by_team(entry: TimelineEntry) -> bool:
    actor = entry.actor
    return actor is None or actor.is_team


def team_view(entry: TimelineEntry) -> EntryView:
    """`entry` whole, as the team reads it."""
    return EntryView(
        seq=entry.seq,
        kind=entry.kind,
        label=label(entry.kind),
        actor=entry.actor_label,
        at=entry.at,
        data=dict(entry.data or {}),
        prev_hash=entry.prev_hash,
        hash=entry.hash,
        by_team=_by_team(entry),
    )


def entry_view(entry: TimelineEntry, audience: Audience) -> EntryView | None:
    """`entry` as `audience` may see it, or None when it is not theirs to see."""
    if audience == Audience.TEAM:
        return team_view(entry)
    kind = kind_of(entry.kind)
    by_team = _by_team(entry)
    fields = kind.fields_for(audience)
    if fields is None:
        return None
    data = entry.data or {}
    actor = TEAM_SIGNATURE
    if not by_team and audience == Audience.STAKEHOLDERS:
        actor = entry.actor.display_name if entry.actor is not None else TEAM_SIGNATURE
    return EntryView(
        seq=entry.seq,
        kind=entry.kind,
        label=kind.label,
        actor=actor,
        at=entry.at,
        data={name: data[name] for name in fields if name in data},
        by_team=by_team,
    )


def views_of(entries: Iterable[TimelineEntry], audience: Audience) -> list[EntryView]:
    return [v for v in (entry_view(e, audience) for e in entries) if v is not None]


def entries_query(
    audience: Audience | User, incident: Incident, *, kinds: Iterable[str] | None = None
) -> tuple[Audience, QuerySet[TimelineEntry]]:
    """The incident's entries `audience` (or the audience of a user) may see, in order, as a
    query the caller may narrow or page; read each row through `entry_view`."""
    if isinstance(audience, User):
        audience = audience_of(audience)
    codes = kinds_shown_to(audience) if audience != Audience.TEAM else None
    if kinds is not None:
        wanted = set(kinds)
        codes = [c for c in (codes if codes is not None else wanted) if c in wanted]
    qs = incident.timeline.select_related("actor").order_by("seq")
    if codes is not None:
        qs = qs.filter(kind__in=codes)
    return audience, qs


def entries_for(
    audience: Audience | User, incident: Incident, *, kinds: Iterable[str] | None = None
) -> list[EntryView]:
    """The incident's entries `audience` (or the audience of a user) may see, in order.
    Visibility of the incident itself is the caller's: pass only one the reader may open."""
    audience, qs = entries_query(audience, incident, kinds=kinds)
    if audience != Audience.TEAM or kinds is not None:
        # some kinds only: their seqs come from the (incident, kind, seq) index first, as
        # rows ordered by seq would be found by walking past every entry of the other kinds
        # (thousands of deliveries after one public update)
        qs = qs.filter(seq__in=list(qs.order_by().values_list("seq", flat=True)))
    return views_of(qs, audience)


# -- incident fields --------------------------------------------------------------------------

# Fields of an incident the team alone reads (the JSON API and exports leave them empty for
# everyone else). The reporter is shown to stakeholders only when a stakeholder reported.
TEAM_ONLY_INCIDENT_FIELDS = frozenset({"assignee", "comms_lead"})


def reporter_shown(incident: Incident, audience: Audience) -> str | None:
    reporter = incident.reporter
    if reporter is None:
        return None
    if audience != Audience.TEAM and reporter.is_team:
        return None
    return reporter.email
