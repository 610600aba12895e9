"""Alertmanager's webhook (payload version 4) and IncidentDesk's generic alert webhook, read
into alert events. No database here."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import DEDUP_KEY_MAX, SUMMARY_MAX
from .services import AlertEvent


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: dt.datetime | None = None
    endsAt: dt.datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=DEDUP_KEY_MAX)


class AlertmanagerPayload(BaseModel):
    """What Alertmanager's `webhook_configs` send (version 4), and Grafana's webhook contact
    point, which sends the same alerts as version 1; fields they add are ignored."""

    model_config = ConfigDict(extra="allow")
    version: Literal["4", "1"]
    groupKey: str = ""
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # Alertmanager writes 0001-01-01T00:00:00Z for "not set"
    if value is None or value.year < 1970:
        return None
    return value if value.utcoffset() is not None else value.replace(tzinfo=dt.UTC)


def group_digest(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest() if group_key else ""


def alertmanager_events(payload: AlertmanagerPayload) -> list[AlertEvent]:
    group_key = group_digest(payload.groupKey)
    events = []
    for alert in payload.alerts:
        labels = {**payload.commonLabels, **alert.labels}
        annotations = {**payload.commonAnnotations, **alert.annotations}
        name = labels.get("alertname", "Alert")
        instance = labels.get("instance", "")
        summary = annotations.get("summary") or (f"{name} on {instance}" if instance else name)
        details: dict[str, Any] = {f"label {k}": v for k, v in sorted(labels.items())}
        if annotations.get("description"):
            details["description"] = annotations["description"]
        links = [{"href": alert.generatorURL, "text": "Source"}] if alert.generatorURL else []
        if annotations.get("runbook_url"):
            links.append({"href": annotations["runbook_url"], "text": "Runbook"})
        events.append(
            AlertEvent(
                action="trigger" if alert.status == "firing" else "resolve",
                dedup_key=alert.fingerprint,
                summary=summary[:SUMMARY_MAX],
                source=(instance or labels.get("job", ""))[:255],
                severity=labels.get("severity", "").lower(),
                timestamp=_aware(alert.startsAt),
                component=labels.get("service", labels.get("job", ""))[:100],
                group=payload.receiver[:100],
                kind=name[:100],
                details=details,
                links=links,
                group_key=group_key,
            )
        )
    return events


class GenericAlert(BaseModel):
    """IncidentDesk's generic alert webhook, for any tool that can post JSON.

    `key` identifies the alert (repeats of a key add to it, `resolved` resolves it);
    `severity` is one of critical, error, warning, info (mapped by the policy file)."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["firing", "acknowledged", "resolved"] = "firing"
    key: str = Field(min_length=1, max_length=DEDUP_KEY_MAX)
    title: str = Field("", max_length=SUMMARY_MAX)
    severity: Literal["critical", "error", "warning", "info"] = "error"
    source: str = Field("", max_length=255)
    details: dict[str, Any] = {}
    links: list[dict[str, str]] = Field([], max_length=20)
    group: str = Field("", max_length=255)
    occurred_at: dt.datetime | None = None


def generic_event(alert: GenericAlert) -> AlertEvent:
    action = {"firing": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}
    return AlertEvent(
        action=action[alert.status],  # type: ignore[arg-type]
        dedup_key=alert.key,
        summary=alert.title or alert.key,
        source=alert.source,
        severity=alert.severity,
        timestamp=_aware(alert.occurred_at),
        details=alert.details,
        links=[link for link in alert.links if link.get("href")],
        group_key=group_digest(alert.group),
    )
