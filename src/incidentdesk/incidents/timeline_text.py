"""Timeline entries in words, as the team's pages show them. Labels and who may see each
kind are declared in `kinds`."""

from __future__ import annotations

from typing import Any

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
        return text + (f"; assigned to {d['assignee']}" if d.get("assignee") else "")
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
    if kind == "assigned":
        return f"Assigned to {d.get('to') or 'nobody'}" + (
            f" (was {d['from']})" if d.get("from") else ""
        )
    if kind == "status_changed":
        return f"Status {d.get('from')} → {d.get('to')}"
    if kind == "note":
        return "Wrote an internal note"
    if kind == "public_update":
        return f"Stakeholder update ({d.get('status')}): {d.get('body', '')}"
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
        return f"Reopened as {d.get('to')}: {d.get('reason', '')}"
    if kind in ("sla_due_soon", "sla_breached"):
        return f"{d.get('target', '').capitalize()} target {'due soon' if kind == 'sla_due_soon' else 'breached'}"
    return _describe_other(kind, d)


def _describe_other(kind: str, d: dict[str, Any]) -> str:
    """Entries written by the communication plan, the portal, the status page and reviews."""
    if kind in ("delivered", "delivery_failed"):
        who = " ".join(str(p) for p in (d.get("audience"), d.get("recipient")) if p)
        text = f"{d.get('trigger') or 'Message'} by {d.get('channel')} to {who}"
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
    if kind == "review_waived":
        return f"Review waived: {d.get('reason', '')}"
    if kind == "action_item_added":
        return f"Action item “{d.get('title')}” for {d.get('owner')}, due {d.get('due_date')}"
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
    return ", ".join(f"{k}: {v}" for k, v in d.items() if isinstance(v, str | int | float))


def _utc(value: Any) -> str:
    """An ISO timestamp as the pages write times: 2026-12-01 22:00."""
    text = str(value or "")
    return text[:16].replace("T", " ")
