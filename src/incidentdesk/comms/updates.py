"""Wording for public updates, one per situation. Placeholders in braces are filled from the
incident when a template is chosen; the member edits the text before posting."""

from __future__ import annotations

import re
from dataclasses import dataclass

from incidentdesk.core import clock
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import policy_for


@dataclass(frozen=True)
class UpdateTemplate:
    key: str
    label: str
    status: str
    text: str


UPDATE_TEMPLATES = [
    UpdateTemplate(
        "investigating",
        "Investigating: first notice",
        "investigating",
        "We are investigating reports of a problem: {title}. We will post the next update by "
        "{next_update}.",
    ),
    UpdateTemplate(
        "identified",
        "Identified: cause found",
        "identified",
        "We have identified the cause of {title} and are working on a fix. Next update by "
        "{next_update}.",
    ),
    UpdateTemplate(
        "monitoring",
        "Monitoring: fix in place",
        "monitoring",
        "A fix for {title} is in place and we are monitoring the results.",
    ),
    UpdateTemplate(
        "resolved",
        "Resolved: all clear",
        "resolved",
        "{title} has been resolved. Thank you for your patience. If you still see a problem, "
        "reply to this message quoting {ref}.",
    ),
    UpdateTemplate(
        "maintenance",
        "Maintenance: planned work",
        "identified",
        "{organisation} is carrying out planned maintenance ({title}). Next update by "
        "{next_update}.",
    ),
    UpdateTemplate(
        "delay",
        "Still working: no news yet",
        "investigating",
        "We are still working on {title}. There is no change to report yet; next update by "
        "{next_update}.",
    ),
]
TEMPLATES_BY_KEY = {t.key: t for t in UPDATE_TEMPLATES}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def placeholders(incident: Incident) -> dict[str, str]:
    policy = policy_for(incident)
    due = incident.update_due_at or (
        clock.now() + policy.sla_for(incident.severity, incident.type).update_every
    )
    return {
        "title": incident.title,
        "ref": incident.ref,
        "organisation": policy.organisation.name,
        "team": policy.organisation.team,
        "next_update": due.strftime("%H:%M UTC on %d %b"),
    }


def fill(text: str, incident: Incident) -> str:
    """`text` with its known placeholders filled; unknown ones are left as written."""
    values = placeholders(incident)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
