"""The queue's own tools: saved views of its filters, and actions on many incidents at once.

A bulk action calls the one-incident service for each incident in turn, so every incident
gets its own permission check, transaction and timeline entry; one refusal skips that incident
and the rest go on. The result says what was done and why each skipped one was skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import clean

from . import lifecycle, roles, services
from .models import SavedView
from .selectors import REF, incident_get_for

NAME_MAX = 80
VIEWS_MAX = 50
BULK_MAX = 100
# the queue's filter parameters a saved view keeps (never a page cursor)
VIEW_PARAMS = ("q", "status", "type", "severity", "assignee", "sort")


def _view_query(query: str) -> str:
    kept = [(k, v) for k, v in parse_qsl(query.lstrip("?")) if k in VIEW_PARAMS and v]
    seen: set[str] = set()
    unique = []
    for key, value in kept:
        if key not in seen:
            seen.add(key)
            unique.append((key, clean(key, value, limit=200, required=False, multiline=False)))
    return urlencode(unique)


def saved_view_save(*, by: User, name: str, query: str) -> SavedView:
    """Save the queue's current filters under `name` for `by`; the same name replaces the
    filters saved under it."""
    require(by, "queue.save_view")
    name = clean("name", name, limit=NAME_MAX, multiline=False, label="Name")
    query = _view_query(query)
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(user=by, name=name).first()
        if view is None:
            if SavedView.objects.filter(user=by).count() >= VIEWS_MAX:
                raise field_error(
                    "name", f"You have {VIEWS_MAX} saved views: delete one to save another."
                )
            view = SavedView(user=by, name=name, created_at=clock.now())
        view.query = query
        view.save()
        audit_record(by=by, kind="saved_view_saved", data={"name": name, "query": query})
    return view


def saved_view_delete(*, by: User, view_id: int) -> None:
    """Delete one of `by`'s saved views; another person's is NotFound, as if it did not exist."""
    require(by, "queue.save_view")
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(pk=view_id, user=by).first()
        if view is None:
            raise NotFound("No such saved view.")
        audit_record(by=by, kind="saved_view_deleted", data={"name": view.name})
        view.delete()


def saved_views_of(user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))


@dataclass
class BulkResult:
    verb: str
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)

    def summary(self) -> str:
        """E.g. "3 acknowledged, 1 skipped: INC-4 already acknowledged"."""
        text = f"{len(self.done)} {self.verb}"
        if self.skipped:
            reasons = "; ".join(f"{ref} {why}" for ref, why in self.skipped)
            text += f", {len(self.skipped)} skipped: {reasons}"
        return text + "."


def _refs(refs: list[str]) -> list[str]:
    unique = list(dict.fromkeys(r.strip().upper() for r in refs if r.strip()))
    if not unique:
        raise field_error("incidents", "Select at least one incident.")
    if len(unique) > BULK_MAX:
        raise field_error("incidents", f"Select at most {BULK_MAX} incidents at once.")
    return unique


def _skip_reason(by: User, ref: str, exc: Exception, *, verb: str) -> str:
    if isinstance(exc, NotFound) or not REF.match(ref):
        return "not found"
    if isinstance(exc, PermissionDenied):
        return "not yours to change"
    if isinstance(exc, InvalidInput):
        return exc.detail.rstrip(".")
    incident = incident_get_for(by, ref)
    if verb == "acknowledged" and incident.acknowledged_at is not None:
        return "already acknowledged"
    if incident.status not in lifecycle.OPEN:
        return f"is {lifecycle.status_label(incident.status).lower()}"
    return "changed meanwhile"


def incidents_bulk_acknowledge(*, by: User, refs: list[str]) -> BulkResult:
    """Acknowledge each incident, one service call (and timeline entry) per incident."""
    require(by, "incident.acknowledge")
    result = BulkResult("acknowledged")
    for ref in _refs(refs):
        try:
            services.incident_acknowledge(by=by, incident=ref)
        except (Conflict, NotFound, PermissionDenied) as exc:
            result.skipped.append((ref, _skip_reason(by, ref, exc, verb=result.verb)))
        else:
            result.done.append(ref)
    return result


def incidents_bulk_assign(*, by: User, refs: list[str], assignee: str | None) -> BulkResult:
    """Assign each incident to `assignee` (an e-mail; None unassigns), one service call per
    incident; each checks whether `by` may assign that person."""
    result = BulkResult("assigned" if assignee else "unassigned")
    email = assignee.strip().lower() if assignee else None
    for ref in _refs(refs):
        try:
            current = incident_get_for(by, ref)
            if (current.assignee.email if current.assignee else None) == email:
                why = "already assigned to that person" if email else "already unassigned"
                result.skipped.append((ref, why))
                continue
            roles.incident_assign(by=by, incident=ref, assignee=email)
        except InvalidInput:
            raise  # the same person for every incident: a wrong one is wrong for all
        except (Conflict, NotFound, PermissionDenied) as exc:
            result.skipped.append((ref, _skip_reason(by, ref, exc, verb=result.verb)))
        else:
            result.done.append(ref)
    return result
