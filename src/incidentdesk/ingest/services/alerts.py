"""Alerts from monitoring: each event opens an incident, joins the one its dedup key belongs
to, or acknowledges or resolves it.

An integration writes as its own account (`Integration.actor`): it reports incidents and
acknowledges them through the incidents' services, so the SLA clocks and the communication
plan run as for any report. What only the alerts know (a repeat, a resolved alert) is
written by the system, which leaves forms open on the incident valid."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connections, transaction

from incidentdesk.core import clock
from incidentdesk.core.errors import DomainError
from incidentdesk.incidents import lifecycle, timeline
from incidentdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, Incident
from incidentdesk.incidents.services import (
    CLOCK_SKEW,
    incident_acknowledge,
    incident_lock,
    incident_report,
    incident_resolve,
)
from incidentdesk.policy.selectors import active_policy

from ..models import SUMMARY_MAX, Alert, AlertStatus, Integration

Action = Literal["trigger", "acknowledge", "resolve"]
STORM_WINDOW = dt.timedelta(minutes=1)
OPEN_STATUSES = [s.value for s in lifecycle.OPEN]


@dataclass
class AlertEvent:
    """One alert event, whatever the wire format it came in (PagerDuty, Alertmanager, ...)."""

    action: Action
    dedup_key: str = ""
    summary: str = ""
    source: str = ""
    severity: str = ""
    timestamp: dt.datetime | None = None
    component: str = ""
    group: str = ""
    kind: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    # alerts of one group (Alertmanager's groupKey, hashed) share an incident
    group_key: str = ""


@dataclass
class Outcome:
    """What an event did: its alert (None when an acknowledge or resolve found none to
    apply to, and for a repeat counted in a batch, which names only its `incident_id`)."""

    dedup_key: str
    alert: Alert | None
    opened: bool = False
    incident_id: int | None = None


def alert_receive(*, integration: Integration, event: AlertEvent) -> Outcome:
    """Apply one event. An acknowledge or resolve for a key with no open alert is dropped, as
    PagerDuty does."""
    if event.action == "trigger":
        return _trigger(integration, event)
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(integration=integration, dedup_key=event.dedup_key)
            .exclude(status=AlertStatus.RESOLVED)
            .order_by("-id")
            .first()
        )
        if alert is None:
            return Outcome(event.dedup_key, None)
        if event.action == "acknowledge":
            _acknowledge(integration, alert)
        else:
            _resolve(integration, alert)
    return Outcome(event.dedup_key, alert)


def alerts_receive(*, integration: Integration, events: list[AlertEvent]) -> list[Outcome]:
    """Apply a batch of events (one webhook call) together: all of them or, on a refusal,
    none."""
    with transaction.atomic():
        return [alert_receive(integration=integration, event=event) for event in events]


KEY_REFUSED = "'routing_key' is not the key of an active integration"


def alerts_receive_batch(
    items: list[tuple[Integration, AlertEvent]],
) -> list[Outcome | list[str]]:
    """Apply events of several senders in one transaction (the web process's group commit:
    one writer's turn for every event that arrived meanwhile): for each, its outcome, or the
    problems that refused it, in PagerDuty's words, with nothing of it written.

    The integrations may come from a process's cache, so whether each is still active is
    read here, inside the transaction: a key revoked in any process is refused from the
    next transaction on. A repeat is its one UPDATE; any other event runs in a savepoint of
    its own, so a refused one leaves the others of the batch stored."""
    results: list[Outcome | list[str]] = []
    with transaction.atomic():
        ids = sorted({i.pk for i, _ in items})
        with connections[Integration.objects.db].cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Integration._meta.db_table} WHERE revoked_at IS NULL"
                f" AND id IN ({', '.join(['%s'] * len(ids))})",
                ids,
            )
            live = {row[0] for row in cursor.fetchall()}
        now = clock.now()
        for integration, event in items:
            if integration.pk not in live:
                results.append([KEY_REFUSED])
                continue
            if event.action == "trigger" and event.dedup_key:
                # no Alert instance built for a repeat: its making cost a tenth of the event
                row = _repeat_row(integration, event.dedup_key, now)
                if row is not None:
                    results.append(Outcome(event.dedup_key, None, incident_id=row[1]))
                    continue
            try:
                results.append(alert_receive(integration=integration, event=event))
            except DomainError as exc:
                results.append([exc.detail, *(e.message for e in exc.errors)])
    return results


def _repeat(integration: Integration, key: str, now: dt.datetime) -> Alert | None:
    """Count a repeat of a triggered alert whose incident is open: the common case of a
    flapping check or a re-notifying group, in one prepared UPDATE ... RETURNING (building
    the ORM's two queries cost more than running them) and without a timeline entry."""
    row = _repeat_row(integration, key, now)
    if row is None:
        return None
    return Alert(id=row[0], incident_id=row[1], integration=integration, dedup_key=key)


def _repeat_row(integration: Integration, key: str, now: dt.datetime) -> tuple[int, int] | None:
    """(alert id, incident id) of the repeat counted, or None."""
    conn = connections[Alert.objects.db]
    with conn.cursor() as cursor:
        cursor.execute(
            _REPEAT_SQL,
            [
                conn.ops.adapt_datetimefield_value(now),
                integration.pk,
                key,
                AlertStatus.TRIGGERED.value,
                AlertStatus.ACKNOWLEDGED.value,
                *OPEN_STATUSES,
            ],
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row is not None else None


_REPEAT_SQL = f"""
UPDATE {Alert._meta.db_table} SET count = count + 1, last_seen_at = %s
WHERE id = (
    SELECT a.id FROM {Alert._meta.db_table} a
    JOIN {Incident._meta.db_table} i ON i.id = a.incident_id
    WHERE a.integration_id = %s AND a.dedup_key = %s AND a.status IN (%s, %s)
    AND i.status IN ({", ".join(["%s"] * len(OPEN_STATUSES))})
    ORDER BY a.id DESC LIMIT 1
)
RETURNING id, incident_id
"""


def _trigger(integration: Integration, event: AlertEvent) -> Outcome:
    key = event.dedup_key or uuid.uuid4().hex
    now = clock.now()
    with transaction.atomic():
        repeated = _repeat(integration, key, now)
        if repeated is not None:
            return Outcome(key, repeated)
        # a new alert: one integration's new alerts in turn, so two first triggers of one
        # key cannot both open an incident, and the storm bound counts every incident opened
        Integration.objects.select_for_update().filter(pk=integration.pk).first()
        repeated = _repeat(integration, key, now)
        if repeated is not None:
            return Outcome(key, repeated)
        _, policy = active_policy()
        severity = policy.ingest.severity_of(event.severity) or ""
        incident, opened = _incident_for(integration, event, severity, now)
        alert = Alert.objects.create(
            integration=integration,
            incident=incident,
            dedup_key=key,
            group_key=event.group_key,
            summary=(event.summary or key)[:SUMMARY_MAX],
            source=event.source[:255],
            severity=event.severity[:20],
            opened_incident=opened,
            details=_details(event),
            first_seen_at=now,
            last_seen_at=now,
        )
        locked = incident_lock(integration.actor, incident)
        timeline.append(
            locked,
            kind="alert_triggered",
            by=None,
            data={
                "integration": integration.name,
                "alert": alert.pk,
                "dedup_key": key,
                "summary": alert.summary,
                "source": alert.source,
                "severity": event.severity,
                "policy_severity": severity or None,
                "component": event.component or integration.component,
            },
        )
        locked.save()
    return Outcome(key, alert, opened)


def _incident_for(
    integration: Integration, event: AlertEvent, severity: str, now: dt.datetime
) -> tuple[Incident, bool]:
    """The open incident of the alert's group; else the incident a new alert opens, or,
    past the integration's bound of incidents a minute, the newest open one it joins."""
    if event.group_key:
        sibling = (
            Alert.objects.filter(
                integration=integration,
                group_key=event.group_key,
                incident__status__in=OPEN_STATUSES,
            )
            .select_related("incident")
            .order_by("-id")
            .first()
        )
        if sibling is not None:
            return sibling.incident, False
    _, policy = active_policy()
    recent = Alert.objects.filter(
        integration=integration, opened_incident=True, first_seen_at__gt=now - STORM_WINDOW
    ).count()
    if recent >= policy.ingest.incidents_per_minute:
        newest = (
            Alert.objects.filter(
                integration=integration,
                opened_incident=True,
                incident__status__in=OPEN_STATUSES,
            )
            .select_related("incident")
            .order_by("-id")
            .first()
        )
        if newest is not None:
            return newest.incident, False
    started = event.timestamp if event.timestamp and event.timestamp <= now + CLOCK_SKEW else None
    incident = incident_report(
        by=integration.actor,
        title=(event.summary or "Alert")[:TITLE_MAX],
        description=_description(integration, event, severity)[:DESCRIPTION_MAX],
        started_at=started,
        source="alert",
    )
    return incident, True


def _description(integration: Integration, event: AlertEvent, severity: str) -> str:
    lines = [f"Alert from {integration.name}: {event.summary}", ""]
    facts = [
        ("Source", event.source),
        ("Severity", f"{event.severity} ({severity})" if severity else event.severity),
        ("Component", event.component or integration.component),
        ("Group", event.group),
        ("Class", event.kind),
        ("Incident type", integration.type),
    ]
    lines += [f"- {name}: {value}" for name, value in facts if value]
    for name, value in event.details.items():
        lines.append(f"- {name}: {value}")
    for link in event.links:
        href = str(link.get("href", ""))
        if href.startswith(("https://", "http://")):
            lines.append(f"- [{link.get('text') or href}]({href})")
    return "\n".join(lines)


def _details(event: AlertEvent) -> dict[str, Any]:
    return {
        "component": event.component,
        "group": event.group,
        "class": event.kind,
        "custom_details": event.details,
        "links": event.links,
        "timestamp": event.timestamp.isoformat() if event.timestamp else None,
    }


def _acknowledge(integration: Integration, alert: Alert) -> None:
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.save(update_fields=["status"])
    incident = Incident.objects.get(pk=alert.incident_id)
    if incident.status in lifecycle.OPEN and incident.acknowledged_at is None:
        incident_acknowledge(by=integration.actor, incident=incident)


def _resolve(integration: Integration, alert: Alert) -> None:
    now = clock.now()
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.save(update_fields=["status", "resolved_at"])
    locked = incident_lock(integration.actor, alert.incident.ref)
    if locked.alerts.exclude(status=AlertStatus.RESOLVED).exists():
        return
    auto = integration.auto_resolve and locked.status in lifecycle.WORKING
    timeline.append(
        locked,
        kind="alerts_resolved",
        by=None,
        data={
            "integration": integration.name,
            "alerts": locked.alerts.count(),
            "auto_resolve": auto,
        },
    )
    locked.save()
    if auto:
        incident_resolve(
            by=integration.actor,
            incident=locked,
            summary=f"Every alert of this incident was resolved by {integration.name}.",
        )


# A change event (a deploy, a configuration change) is told to the incidents open when it
# happened; the most recently reported ones, so one change cannot write without bound.
CHANGE_FAN_OUT = 20


def change_receive(*, integration: Integration, event: AlertEvent) -> list[Incident]:
    """Note a change on the timeline of every open incident (at most CHANGE_FAN_OUT)."""
    refs = list(
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .order_by("-id")
        .values_list("pk", flat=True)[:CHANGE_FAN_OUT]
    )
    noted: list[Incident] = []
    with transaction.atomic():
        for pk in refs:
            locked = incident_lock(integration.actor, f"INC-{pk}")
            timeline.append(
                locked,
                kind="change_noted",
                by=None,
                data={
                    "integration": integration.name,
                    "summary": event.summary,
                    "source": event.source,
                    "timestamp": event.timestamp.isoformat() if event.timestamp else None,
                    "links": event.links,
                },
            )
            locked.save()
            noted.append(locked)
    return noted
