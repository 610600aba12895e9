"""Timeline entries in words, as the team's pages show them. Labels and who may see each
kind are declared in `kinds`."""

from __future__ import annotations

from typing import Any

from incidentdesk.accounts.models import User
from incidentdesk.incidents.kinds import recipient_label, trigger_label
from incidentdesk.incidents.lifecycle import status_label
from incidentdesk.policy.schema import Policy

from .models import TimelineEntry


def describe(entry: TimelineEntry, policy: Policy) -> str:
    d = entry.data or {}
    kind = entry.kind
    if kind == "reported":
        return f"Reported “{d.get('title', '')}”" + (
            f" for {d['organisation']}" if d.get("organisation") else ""
        )
    if kind == "acknowledged":
        text = "Acknowledged" + (" late" if d.get("late") else "")
        return text + (f"; assigned to {_name(d['assignee'])}" if d.get("assignee") else "")
    if kind == "info_requested":
        return f"Asked the reporter: {d.get('question', '')}"
    if kind == "info_provided":
        return f"Answered: {d.get('answer', '')}"
    if kind == "categorized":
        t = policy.types.get(d.get("type", ""))
        i = policy.impacts.get(d.get("impact", ""))
        text = (
            f"Categorized as {t.label if t else d.get('type')}, {d.get('severity')}, "
            f"impact {i.label if i else d.get('impact')}"
        )
        if d.get("severity") != d.get("suggested_severity"):
            text += f" (policy suggests {d.get('suggested_severity')})"
        if d.get("reason"):
            text += f". Reason: {d['reason']}"
        return text
    if kind == "severity_changed":
        return f"Severity {d.get('from')} → {d.get('to')}"
    if kind in ("assigned", "comms_lead_assigned"):
        return _handover(entry, "the lead" if kind == "assigned" else "communications")
    if kind == "status_changed":
        return f"Status {_status(d.get('from'))} → {_status(d.get('to'))}"
    if kind == "note":
        return "Wrote an internal note"
    if kind == "public_update":
        return f"Stakeholder update ({_status(d.get('status'))}): {d.get('body', '')}"
    if kind == "task_updated":
        text = f"“{d.get('title')}”: {d.get('from')} → {d.get('to')}"
        return text + (f". Reason: {d['reason']}" if d.get("reason") else "")
    if kind == "resolved":
        return f"Resolved: {d.get('summary', '')}"
    if kind == "closed":
        return "Closed"
    if kind == "rejected":
        text = f"Rejected: {d.get('reason', '')}"
        return text + (f" (duplicate of {d['duplicate_of']})" if d.get("duplicate_of") else "")
    if kind == "reopened":
        return f"Reopened as {_status(d.get('to'))}: {d.get('reason', '')}"
    if kind in ("sla_due_soon", "sla_breached"):
        return f"{d.get('target', '').capitalize()} target {'due soon' if kind == 'sla_due_soon' else 'breached'}"
    return _describe_other(kind, d)


def _describe_other(kind: str, d: dict[str, Any]) -> str:
    """Entries written by the communication plan, the portal, the status page and reviews."""
    if kind in ("delivered", "delivery_failed"):
        audience = recipient_label(str(d["audience"])) if d.get("audience") else ""
        who = " ".join(str(p) for p in (audience, d.get("recipient")) if p)
        text = f"{trigger_label(str(d.get('trigger') or ''))} by {d.get('channel')} to {who}"
        return text + (f": {d['error']}" if kind == "delivery_failed" and d.get("error") else "")
    if kind == "stakeholder_comment":
        return f"Commented: {d.get('body', '')}"
    if kind == "org_joined":
        return f"{d.get('organisation')} is affected too" + (
            f" (from {d['from']})" if d.get("from") else ""
        )
    if kind == "org_join_requested":
        return f"{d.get('organisation')} asks to be listed as affected" + (
            f" (from {d['from']})" if d.get("from") else ""
        )
    if kind == "reporter_joined":
        verb = "Joined" if d.get("linked", True) else "Asked to join"
        return f"{verb} {d.get('incident')}: the same problem"
    if kind == "merged":
        return f"Merged {d.get('duplicate')} into this incident"
    if kind == "statuspage_component_linked":
        status = str(d.get("status", "")).replace("_", " ")
        return f"{d.get('component')} marked {status}" + (
            f" (was {str(d['previous']).replace('_', ' ')})" if d.get("previous") else ""
        )
    if kind in REVIEW_TEXT:
        text = REVIEW_TEXT[kind]
        if d.get("sections"):
            text += ": " + ", ".join(str(s).replace("_", " ") for s in d["sections"])
        return text + (f" (revision {d['revision']})" if d.get("revision") else "")
    if kind == "review_waived":
        return f"Review waived: {d.get('reason', '')}"
    if kind == "action_item_added":
        return (
            f"Action item “{d.get('title')}” for {_name(d.get('owner'))}, due {d.get('due_date')}"
        )
    if kind == "statuspage_published":
        return "Published on the status page" + (" (summary only)" if d.get("summary_only") else "")
    if kind == "maintenance_scheduled":
        where = ", ".join(d.get("components") or []) or "no components"
        return (
            f"Window “{d.get('name')}” from {_utc(d.get('from'))} to {_utc(d.get('until'))} "
            f"UTC ({where})"
        )
    if kind == "maintenance_updated":
        status = str(d.get("status", "")).replace("_", " ")
        return f"“{d.get('name')}” is {status}" + (f": {d['body']}" if d.get("body") else "")
    # an entry without words of its own shows its words: names, titles and texts, never keys
    return ", ".join(str(d[k]) for k in PLAIN_FIELDS if isinstance(d.get(k), str) and d[k])


REVIEW_TEXT = {
    "review_started": "Started the review",
    "review_edited": "Edited the review",
    "review_revised": "Revised the published review",
    "review_submitted": "Submitted the review for approval",
    "review_published": "Published the review",
}

# the fields an undescribed entry may show, in this order
PLAIN_FIELDS = ("name", "title", "component", "organisation", "summary", "body", "reason", "note")


def _handover(entry: TimelineEntry, role: str) -> str:
    """ "Alex handed the lead to Sam: the note", as the team reads a change of role."""
    d = entry.data or {}
    actor = entry.actor.display_name if entry.actor is not None else "The system"
    giver, taker = _name(d.get("from")), _name(d.get("to"))
    if taker and giver and giver != taker:
        text = f"{actor} handed {role} to {taker}"
        if entry.actor is None or entry.actor.email != d.get("from"):
            text += f" (from {giver})"
    elif taker:
        text = f"{actor} gave {role} to {taker}" if taker != actor else f"{actor} took {role}"
    else:
        text = f"{actor} left {role} to nobody" + (f" (was {giver})" if giver else "")
    return text + (f": {d['note']}" if d.get("note") else "")


def _name(email: Any) -> str:
    """A person by name where one is known; entries keep the address they were written with."""
    if not email:
        return ""
    user = User.objects.filter(email=str(email)).first()
    return user.display_name if user is not None else str(email)


def _status(code: Any) -> str:
    return status_label(str(code or "")).lower()


def _utc(value: Any) -> str:
    """An ISO timestamp as the pages write times: 2026-12-01 22:00."""
    text = str(value or "")
    return text[:16].replace("T", " ")
