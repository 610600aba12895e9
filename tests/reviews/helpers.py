"""Scripted incidents for the review tests: every timestamp is set with the frozen clock."""

from __future__ import annotations

import datetime as dt

from incidentdesk.core import clock
from incidentdesk.incidents import services as s

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def worked_incident(
    member,
    *,
    reported: dt.datetime,
    title: str = "Checkout fails",
    type: str = "functionality",
    severity: str = "P1",
    impact: str = "all",
    ack: int | None = 10,
    categorize: int | None = 20,
    note: int | None = None,
    update: int | None = None,
    resolve: int | None = None,
):
    """Report at `reported`; then each action that many minutes after the report."""
    with clock.frozen(reported) as c:
        incident = s.incident_report(by=member, title=title, description="scripted")
        steps = [
            (ack, lambda: s.incident_acknowledge(by=member, incident=incident.ref)),
            (
                categorize,
                lambda: s.incident_categorize(
                    by=member,
                    incident=incident.ref,
                    type=type,
                    severity=severity,
                    impact=impact,
                    reason="scripted",
                ),
            ),
            (
                note,
                lambda: s.incident_add_note(
                    by=member, incident=incident.ref, body="Manager informed."
                ),
            ),
            (
                update,
                lambda: s.incident_post_update(
                    by=member,
                    incident=incident.ref,
                    status="investigating",
                    body="Looking into it.",
                ),
            ),
            (
                resolve,
                lambda: s.incident_resolve(by=member, incident=incident.ref, summary="Fixed."),
            ),
        ]
        for minutes, action in sorted(
            ((m, a) for m, a in steps if m is not None), key=lambda p: p[0]
        ):
            c.set(reported + dt.timedelta(minutes=minutes))
            action()
    incident.refresh_from_db()
    return incident
