"""The roles in an incident: the incident lead (the policy's member in charge, kept as the
incident's `assignee`) and the communications lead, who writes the public updates. A role
changes hands with a note that the timeline keeps (incident_hand_over).

The role services write here, as the other services do in `services.py`."""

from __future__ import annotations

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import can, require
from incidentdesk.core.errors import Conflict, field_error
from incidentdesk.core.text import clean

from . import timeline
from .lifecycle import Status
from .models import Incident
from .selectors import incident_lock

NOTE_MAX = 2000


class IncidentRole:
    LEAD = "lead"
    COMMS = "comms"


# role -> (the incident's field, the timeline kind its change writes, the role in words)
ROLES = {
    IncidentRole.LEAD: ("assignee", "assigned", "incident lead"),
    IncidentRole.COMMS: ("comms_lead", "comms_lead_assigned", "communications lead"),
}


def role_label(role: str) -> str:
    return ROLES[role][2]


# -- roles in an incident ---------------------------------------------------------------------


def _team_member(address: str, field: str) -> User:
    user = User.objects.filter(email=address.strip().lower(), is_active=True).first()
    if user is None or not user.is_team:
        raise field_error(field, f"{address} is not an active member of the team.")
    return user


def incident_hand_over(
    *,
    by: User,
    incident: Incident | str,
    role: str,
    to: str | None,
    note: str = "",
    expected_version: int | None = None,
    _to_field: str = "to",
    _holder_gives: bool = True,
) -> Incident:
    """Give `role` ("lead" or "comms") to the team member whose address is `to` (None: to
    nobody), with a note for the one taking over. A manager gives any role; a member takes a
    role, or hands over one they hold."""
    if not can(by, "incident.assign"):
        # checked before the address, so that a caller who may not assign cannot probe it
        require(by, "incident.assign_self")
    if role not in ROLES:
        raise field_error("role", "The role is lead or comms.")
    field, kind, _ = ROLES[role]
    note = clean("note", note or "", limit=NOTE_MAX, required=False)
    to = clean(_to_field, to, limit=320, required=False, multiline=False) if to else None
    target = _team_member(to, _to_field) if to else None
    with transaction.atomic():
        locked = incident_lock(by, incident, expected_version)
        holder: User | None = getattr(locked, field)
        taking = target is not None and target.pk == by.pk
        holding = _holder_gives and holder is not None and holder.pk == by.pk
        if not (taking or holding):
            require(by, "incident.assign")
        if locked.status in (Status.CLOSED, Status.REJECTED):
            raise Conflict(f"{locked.ref} is {locked.status}: its roles no longer change.")
        setattr(locked, field, target)
        data: dict[str, str | None] = {
            "from": holder.email if holder else None,
            "to": target.email if target else None,
        }
        if note:
            data["note"] = note
        timeline.append(locked, kind=kind, by=by, data=data)
        locked.save()
    return locked


def incident_assign(
    *,
    by: User,
    incident: Incident | str,
    assignee: str | None,
    note: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Make `assignee` the incident lead (the policy's member in charge): a manager names
    anyone, a member only themselves (`incident_hand_over` lets a lead hand over)."""
    return incident_hand_over(
        by=by,
        incident=incident,
        role=IncidentRole.LEAD,
        to=assignee,
        note=note,
        expected_version=expected_version,
        _to_field="assignee",
        _holder_gives=False,
    )
