"""Wording for public updates, one per situation. Placeholders in braces are filled from the
incident when a template is chosen; the member edits the text before posting.

A public update reaches the stakeholders and, once the incident is published, the public
status page: so `{title}` is the incident's public title (the one published on the status
page), never the internal one a reporter or the team typed, and no wording speaks of
e-mail ("reply to this message") that a web page cannot carry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist

from incidentdesk.core import clock
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import policy_for


@dataclass(frozen=True)
class UpdateTemplate:
    key: str
    label: str
    status: str
    text: str


# The status page shows an update under the incident's public title and a mail carries it in
# its subject, so the wording does not repeat a title; `{title}` (the public one) is there
# for a member who wants it.
UPDATE_TEMPLATES = [
    UpdateTemplate(
        "investigating",
        "Investigating: first notice",
        "investigating",
        "We are investigating reports of a problem. We will post the next update by {next_update}.",
    ),
    UpdateTemplate(
        "identified",
        "Identified: cause found",
        "identified",
        "We have identified the cause and are working on a fix. Next update by {next_update}.",
    ),
    UpdateTemplate(
        "monitoring",
        "Monitoring: fix in place",
        "monitoring",
        "A fix is in place and we are monitoring the results.",
    ),
    UpdateTemplate(
        "resolved",
        "Resolved: all clear",
        "resolved",
        "This incident has been resolved. Thank you for your patience.",
    ),
    UpdateTemplate(
        "maintenance",
        "Maintenance: planned work",
        "identified",
        "{organisation} is carrying out planned maintenance. Next update by {next_update}.",
    ),
    UpdateTemplate(
        "delay",
        "Still working: no news yet",
        "investigating",
        "We are still working on this. There is no change to report yet; next update by "
        "{next_update}.",
    ),
]
TEMPLATES_BY_KEY = {t.key: t for t in UPDATE_TEMPLATES}
# {title} before the incident has a public title
NEUTRAL_TITLE = "the reported problem"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def placeholders(incident: Incident) -> dict[str, str]:
    policy = policy_for(incident)
    due = incident.update_due_at or (
        clock.now() + policy.sla_for(incident.severity, incident.type).update_every
    )
    return {
        "title": public_title(incident),
        "ref": incident.ref,
        "organisation": policy.organisation.name,
        "team": policy.organisation.team,
        "next_update": due.strftime("%H:%M UTC on %d %b"),
    }


def public_title(incident: Incident) -> str:
    """The title the public reads: the status page's, else the one the team wrote for the
    public, else a neutral phrase; never the title a reporter or the team typed."""
    try:
        published = incident.publication.public_title  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        published = ""
    return published or incident.public_title or NEUTRAL_TITLE


def fill(text: str, incident: Incident) -> str:
    """`text` with its known placeholders filled; unknown ones are left as written."""
    values = placeholders(incident)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
