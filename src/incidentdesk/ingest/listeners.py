"""How the timeline moves an incident's paging: a report starts it, a categorization may
bring it forward, a breached SLA clock on an acknowledged incident pages again. (An
acknowledgement or the incident's end stops it: the next step reads that and stops.)"""

from __future__ import annotations

from typing import Any

from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import policy_for

from .services import escalation


def on_entry_appended(sender: Any, incident: Incident, entry: TimelineEntry, **kwargs: Any) -> None:
    kind = entry.kind
    if kind == "reported":
        source = str((entry.data or {}).get("source") or "")
        if escalation.escalates(policy_for(incident), source):
            escalation.escalation_start(incident=incident, source=source)
    elif kind in ("categorized", "severity_changed"):
        escalation.escalation_hurry(incident=incident)
    elif kind == "sla_breached" and incident.acknowledged_at is not None:
        escalation.escalation_renotify(
            incident=incident, target=str((entry.data or {}).get("target") or "")
        )
