"""The whole documented record of an incident (policy step 6) as JSON or Markdown."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from incidentdesk.incidents.kinds import Audience, views_of
from incidentdesk.incidents.models import Incident

from .models import SECTIONS, ActionItem, Review
from .selectors import deliveries_of, impact_facts


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def incident_record(incident: Incident) -> dict[str, Any]:
    """Details, every timeline entry, deliveries, tasks, action items and the review: the
    team's record (only the team may export), each entry with its label from `kinds`."""
    entries = list(incident.timeline.select_related("actor").order_by("seq"))
    facts = impact_facts(incident, entries)
    review = Review.objects.filter(incident=incident).first()
    return {
        "ref": incident.ref,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "type": incident.type,
        "severity": incident.severity,
        "impact": incident.impact,
        "private": incident.private,
        "reporter": incident.reporter.email if incident.reporter else None,
        "organisation": incident.reporter_org.name if incident.reporter_org else None,
        "affected_organisations": facts.organisations,
        "assignee": incident.assignee.email if incident.assignee else None,
        "policy_version": incident.policy_version_id,
        "started_at": _iso(incident.started_at),
        "reported_at": _iso(incident.reported_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "resolved_at": _iso(incident.resolved_at),
        "closed_at": _iso(incident.closed_at),
        "resolution_summary": incident.resolution_summary,
        "timeline": [
            {
                "seq": e.seq,
                "at": _iso(e.at),
                "kind": e.kind,
                "label": e.label,
                "actor": e.actor,
                "data": e.data,
                "hash": e.hash,
            }
            for e in views_of(entries, Audience.TEAM)
        ],
        "deliveries": deliveries_of(incident),
        "tasks": [
            {
                "position": t.position,
                "title": t.title,
                "state": t.state,
                "reason": t.reason,
                "done_at": _iso(t.done_at),
            }
            for t in incident.tasks.order_by("position")
        ],
        "action_items": [
            {
                "title": a.title,
                "kind": a.kind,
                "owner": a.owner.email,
                "due_date": _iso(a.due_date),
                "status": a.status,
                "done_at": _iso(a.done_at),
            }
            for a in ActionItem.objects.filter(incident=incident).select_related("owner")
        ],
        "review": None
        if review is None
        else {
            "state": review.state,
            "revision": review.revision,
            "published_at": _iso(review.published_at),
            "waived_at": _iso(review.waived_at),
            "waiver_reason": review.waiver_reason,
            "sections": review.sections,
            "picks": review.picks,
        },
    }


def as_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def as_markdown(record: dict[str, Any]) -> str:
    lines = [f"# {record['ref']}: {record['title']}", ""]
    for label, key in (
        ("Status", "status"),
        ("Type", "type"),
        ("Severity", "severity"),
        ("Impact", "impact"),
        ("Reporter", "reporter"),
        ("Organisation", "organisation"),
        ("Assignee", "assignee"),
        ("Reported", "reported_at"),
        ("Acknowledged", "acknowledged_at"),
        ("Resolved", "resolved_at"),
        ("Closed", "closed_at"),
    ):
        lines.append(f"- **{label}:** {record[key] or '–'}")
    affected = ", ".join(record["affected_organisations"]) or "–"
    lines += [f"- **Affected organisations:** {affected}", ""]
    if record["description"]:
        lines += ["## Description", "", record["description"], ""]
    if record["resolution_summary"]:
        lines += ["## Resolution", "", record["resolution_summary"], ""]
    lines += ["## Timeline", "", "| # | At | Kind | By | Details |", "|---|---|---|---|---|"]
    for e in record["timeline"]:
        details = json.dumps(e["data"], ensure_ascii=False, sort_keys=True)
        lines.append(
            f"| {e['seq']} | {e['at']} | {_cell(e['label'])} | {_cell(e['actor'])} "
            f"| {_cell(details)} |"
        )
    lines.append("")
    if record["tasks"]:
        lines += ["## Tasks", ""]
        for t in record["tasks"]:
            mark = "x" if t["state"] == "done" else " "
            extra = f" ({t['state']}: {t['reason']})" if t["state"] == "skipped" else ""
            lines.append(f"- [{mark}] {t['title']}{extra}")
        lines.append("")
    if record["deliveries"]:
        columns = list(record["deliveries"][0])
        lines += ["## Deliveries", "", "| " + " | ".join(columns) + " |"]
        lines.append("|" + "---|" * len(columns))
        for d in record["deliveries"]:
            lines.append("| " + " | ".join(_cell(d[c]) or "–" for c in columns) + " |")
        lines.append("")
    if record["action_items"]:
        lines += ["## Action items", "", "| Title | Kind | Owner | Due | Status |"]
        lines.append("|---|---|---|---|---|")
        for a in record["action_items"]:
            lines.append(
                f"| {_cell(a['title'])} | {a['kind']} | {a['owner']} | {a['due_date']} | {a['status']} |"
            )
        lines.append("")
    review = record["review"]
    if review is not None:
        lines += [f"## Post-incident review ({review['state']}, revision {review['revision']})", ""]
        if review["waived_at"]:
            lines += [f"Waived on {review['waived_at']}: {review['waiver_reason']}", ""]
        for key, label in SECTIONS:
            text = review["sections"].get(key)
            if text:
                lines += [f"### {label}", "", text, ""]
    return "\n".join(lines).rstrip() + "\n"
