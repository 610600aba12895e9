"""Figures about incident handling, computed from facts read off the timelines. Pure: no ORM.

Durations are skewed (a few long incidents), so every duration is given as median and 90th
percentile as well as mean. Percentiles interpolate linearly between ranks (the "inclusive"
method: p = v[k] + (v[k+1] - v[k]) * f where (n - 1) * q = k + f).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

RECURRENCE_WINDOW = dt.timedelta(days=30)
TITLE_SIMILARITY = 0.6


@dataclass(frozen=True)
class IncidentRecord:
    ref: str
    title: str
    type: str
    severity: str
    reported_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    triaged_at: dt.datetime | None = None
    first_update_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    ever_resolved: bool = False
    reopened: int = 0
    # SLA targets of the incident's severity: acknowledge, first_update, resolve
    targets: dict[str, dt.timedelta] = field(default_factory=dict)
    components: frozenset[str] | None = None


@dataclass(frozen=True)
class ActionRecord:
    due_date: dt.date
    status: str
    done_on: dt.date | None = None


@dataclass(frozen=True)
class Duration:
    key: str
    label: str
    start: str
    end: str
    end_of: Callable[[IncidentRecord], dt.datetime | None]

    @property
    def spans(self) -> str:
        return f"{self.start} to {self.end}"


DURATIONS = (
    Duration(
        "acknowledge",
        "Time to acknowledge",
        "reported",
        "acknowledged",
        lambda r: r.acknowledged_at,
    ),
    Duration("triage", "Time to triage", "reported", "categorized", lambda r: r.triaged_at),
    Duration(
        "first_update",
        "Time to first stakeholder update",
        "reported",
        "first stakeholder update",
        lambda r: r.first_update_at,
    ),
    Duration("resolve", "Time to resolve", "reported", "resolved", lambda r: r.resolved_at),
)
SLA_TARGETS = ("acknowledge", "first_update", "resolve")


@dataclass(frozen=True)
class Stats:
    count: int
    mean: float | None
    median: float | None
    p90: float | None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(values: Iterable[float]) -> Stats:
    items = list(values)
    if not items:
        return Stats(0, None, None, None)
    return Stats(
        len(items), sum(items) / len(items), percentile(items, 0.5), percentile(items, 0.9)
    )


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """Every month from start to end inclusive, as "YYYY-MM"."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month(at: dt.datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def _seconds(record: IncidentRecord, d: Duration) -> float | None:
    end = d.end_of(record)
    return (end - record.reported_at).total_seconds() if end is not None else None


def _grouped(
    records: list[IncidentRecord], d: Duration, key: Callable[[IncidentRecord], str]
) -> dict[str, Stats]:
    groups: dict[str, list[float]] = {}
    for record in records:
        groups.setdefault(key(record) or "uncategorized", [])
        value = _seconds(record, d)
        if value is not None:
            groups[key(record) or "uncategorized"].append(value)
    return {name: stats(values) for name, values in sorted(groups.items())}


def by_policy_order(groups: dict[str, Any], severities: Sequence[str]) -> dict[str, Any]:
    """Per-severity figures in the policy's order of severities (most severe first), then
    severities the policy no longer has, then "uncategorized"; never sorted as strings."""
    rank = {name: i for i, name in enumerate(severities)}

    def key(name: str) -> tuple[int, int, str]:
        return (name == "uncategorized", rank.get(name, len(rank)), name)

    return {name: groups[name] for name in sorted(groups, key=key)}


def durations(
    records: list[IncidentRecord], months: list[str], severities: Sequence[str] = ()
) -> list[dict[str, Any]]:
    figures = []
    for d in DURATIONS:
        by_month = _grouped(records, d, lambda r: _month(r.reported_at))
        figures.append(
            {
                "key": d.key,
                "label": d.label,
                "spans": d.spans,
                "unit": "seconds",
                "overall": asdict(stats(v for r in records if (v := _seconds(r, d)) is not None)),
                "by_severity": by_policy_order(
                    {k: asdict(s) for k, s in _grouped(records, d, lambda r: r.severity).items()},
                    severities,
                ),
                "by_type": {
                    k: asdict(s) for k, s in _grouped(records, d, lambda r: r.type).items()
                },
                "by_month": {m: asdict(by_month.get(m, stats([]))) for m in months},
            }
        )
    return figures


def sla_compliance(
    records: list[IncidentRecord], now: dt.datetime, severities: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Per target: met / judged. An incident is judged once its event happened or its target
    time passed without it; one still within its target is not counted yet."""
    figures = []
    for d in DURATIONS:
        if d.key not in SLA_TARGETS:
            continue
        met = judged = 0
        per_severity: dict[str, list[int]] = {}
        for record in records:
            target = record.targets.get(d.key)
            if target is None:
                continue
            end = d.end_of(record)
            if end is None and now - record.reported_at <= target:
                continue
            ok = end is not None and end - record.reported_at <= target
            judged += 1
            met += ok
            tally = per_severity.setdefault(record.severity or "uncategorized", [0, 0])
            tally[0] += ok
            tally[1] += 1
        figures.append(
            {
                "target": d.key,
                "label": f"{d.label} within target",
                "spans": d.spans,
                "met": met,
                "total": judged,
                "rate": rate(met, judged),
                "by_severity": by_policy_order(
                    {
                        k: {"met": m, "total": t, "rate": rate(m, t)}
                        for k, (m, t) in per_severity.items()
                    },
                    severities,
                ),
            }
        )
    return figures


def counts(
    records: list[IncidentRecord], months: list[str], severities: Sequence[str] = ()
) -> dict[str, Any]:
    by_month = dict.fromkeys(months, 0)
    by_type: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for record in records:
        by_month[_month(record.reported_at)] = by_month.get(_month(record.reported_at), 0) + 1
        by_type[record.type or "uncategorized"] = by_type.get(record.type or "uncategorized", 0) + 1
        sev = record.severity or "uncategorized"
        by_severity[sev] = by_severity.get(sev, 0) + 1
    series = list(by_month.values())
    trend = None
    if len(series) >= 2:
        trend = {
            "previous_month": months[-2],
            "previous": series[-2],
            "latest_month": months[-1],
            "latest": series[-1],
            "change": series[-1] - series[-2],
        }
    return {
        "label": "Incidents reported",
        "spans": "reported time",
        "total": len(records),
        "by_month": by_month,
        "by_type": dict(sorted(by_type.items())),
        "by_severity": by_policy_order(by_severity, severities),
        "trend": trend,
    }


def reopen_rate(records: list[IncidentRecord]) -> dict[str, Any]:
    resolved = [r for r in records if r.ever_resolved]
    reopened = [r for r in resolved if r.reopened > 0]
    return {
        "label": "Reopen rate",
        "spans": "resolved to reopened",
        "reopened": len(reopened),
        "resolved": len(resolved),
        "rate": rate(len(reopened), len(resolved)),
        "refs": [r.ref for r in reopened],
    }


def _similar(a: str, b: str) -> bool:
    return _similar_lower(a.lower(), b.lower())


@functools.lru_cache(maxsize=65_536)
def _similar_lower(a: str, b: str) -> bool:
    """Kept per pair of titles: titles repeat ("Checkout is slow"), and each comparison
    is a quadratic diff."""
    return difflib.SequenceMatcher(None, a, b).ratio() >= TITLE_SIMILARITY


def recurrence(records: list[IncidentRecord]) -> dict[str, Any]:
    """An incident recurs when an earlier one of the same type, reported within 30 days before,
    shares a status-page component with it (or, where neither has components, a similar title)."""
    ordered = sorted(records, key=lambda r: r.reported_at)
    pairs = []
    for i, record in enumerate(ordered):
        for earlier in reversed(ordered[:i]):
            if record.reported_at - earlier.reported_at > RECURRENCE_WINDOW:
                break
            if not record.type or earlier.type != record.type:
                continue
            if record.components and earlier.components:
                same = bool(record.components & earlier.components)
            else:
                same = _similar(record.title, earlier.title)
            if same:
                pairs.append({"ref": record.ref, "previous": earlier.ref})
                break
    return {
        "label": "Recurrence",
        "spans": "reported to a similar incident's report within 30 days",
        "recurring": len(pairs),
        "total": len(records),
        "rate": rate(len(pairs), len(records)),
        "pairs": pairs,
    }


def action_items(actions: list[ActionRecord], today: dt.date) -> dict[str, Any]:
    done = [a for a in actions if a.status == "done"]
    on_time = [a for a in done if a.done_on is not None and a.done_on <= a.due_date]
    unfinished = [a for a in actions if a.status in ("open", "in_progress")]
    overdue = [a for a in unfinished if a.due_date < today]
    counted = [a for a in actions if a.status != "dropped"]
    return {
        "label": "Action items",
        "spans": "created to done, against the due date",
        "total": len(actions),
        "open": len(unfinished),
        "overdue": len(overdue),
        "done": len(done),
        "done_on_time": len(on_time),
        "dropped": len(actions) - len(counted),
        "completion_rate": rate(len(done), len(counted)),
        "on_time_rate": rate(len(on_time), len(done)),
    }


def compute(
    records: list[IncidentRecord],
    actions: list[ActionRecord],
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    today: dt.date,
    severities: Sequence[str] = (),
) -> dict[str, Any]:
    """`severities`: the policy's order of severities, most severe first."""
    months = months_between(start, end)
    return {
        "range": {"from": start.isoformat(), "to": end.isoformat()},
        "incidents": len(records),
        "durations": durations(records, months, severities),
        "sla": sla_compliance(records, now, severities),
        "counts": counts(records, months, severities),
        "reopen": reopen_rate(records),
        "recurrence": recurrence(records),
        "action_items": action_items(actions, today),
    }


def flatten(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure as rows (figure, group, key, value, spans) for CSV."""
    rows: list[dict[str, Any]] = []

    def add(figure: str, group: str, key: str, measure: str, value: Any, spans: str) -> None:
        rows.append(
            {
                "figure": figure,
                "group": group,
                "key": key,
                "measure": measure,
                "value": value,
                "spans": spans,
            }
        )

    for d in figures["durations"]:
        for group in ("overall", "by_severity", "by_type", "by_month"):
            items = {"all": d[group]} if group == "overall" else d[group]
            for key, s in items.items():
                for measure in ("count", "mean", "median", "p90"):
                    add(
                        d["key"],
                        group,
                        key,
                        f"{measure}_seconds" if measure != "count" else measure,
                        s[measure],
                        d["spans"],
                    )
    for s in figures["sla"]:
        for measure in ("met", "total", "rate"):
            add(f"sla_{s['target']}", "overall", "all", measure, s[measure], s["spans"])
        for key, tally in s["by_severity"].items():
            for measure in ("met", "total", "rate"):
                add(f"sla_{s['target']}", "by_severity", key, measure, tally[measure], s["spans"])
    c = figures["counts"]
    add("incidents", "overall", "all", "count", c["total"], c["spans"])
    for group in ("by_month", "by_type", "by_severity"):
        for key, value in c[group].items():
            add("incidents", group, key, "count", value, c["spans"])
    r = figures["reopen"]
    for measure in ("reopened", "resolved", "rate"):
        add("reopen", "overall", "all", measure, r[measure], r["spans"])
    rec = figures["recurrence"]
    for measure in ("recurring", "total", "rate"):
        add("recurrence", "overall", "all", measure, rec[measure], rec["spans"])
    a = figures["action_items"]
    for measure in (
        "total",
        "open",
        "overdue",
        "done",
        "done_on_time",
        "dropped",
        "completion_rate",
        "on_time_rate",
    ):
        add("action_items", "overall", "all", measure, a[measure], a["spans"])
    for step in figures.get("conformance", {}).get("steps", []):
        for row in step["by_severity"]:
            for measure in ("on_time", "done", "total"):
                add(
                    f"step_{step['number']}",
                    "by_severity",
                    row["severity"],
                    measure,
                    row[measure],
                    step["spans"],
                )
    return rows
