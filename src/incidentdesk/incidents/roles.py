"""The roles in an incident: the incident lead (the policy's member in charge, kept as the
incident's `assignee`) and the communications lead, who writes the public updates. A role
changes hands with a note that the timeline keeps (services.incident_hand_over)."""

from __future__ import annotations

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
