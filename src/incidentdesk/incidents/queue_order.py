"""The queue's orders and the one keyset pagination (the queue's pages and the API's list): a
deep page costs what the first one does."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least

from incidentdesk.core.errors import field_error
from incidentdesk.policy.selectors import active_policy

from .models import Incident

FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sort:
    label: str
    keys: tuple[tuple[str, bool], ...]  # (annotation or field, descending)


SORTS = {
    "attention": Sort(
        "Needs attention",
        (("q_severity", False), ("q_assigned", False), ("q_next_due", False), ("id", False)),
    ),
    "due": Sort("Next SLA due", (("q_next_due", False), ("id", False))),
    "newest": Sort("Newest", (("id", True),)),
    "oldest": Sort("Oldest", (("id", False),)),
}


def severity_rank() -> Case:
    """The policy's order of severities as a number to sort on: not yet categorized first (it
    needs triage), then the policy's severities in the order the policy lists them (most severe
    first), then any the policy no longer has. Never the names sorted as strings."""
    _, policy = active_policy()
    ranks = [When(severity=name, then=Value(i + 1)) for i, name in enumerate(policy.severities)]
    return Case(
        When(severity="", then=Value(0)),
        *ranks,
        default=Value(len(ranks) + 1),
        output_field=IntegerField(),
    )


def annotate_queue(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    far = Value(FAR_FUTURE, output_field=DateTimeField())
    ack = Case(
        When(acknowledged_at__isnull=True, then=F("ack_due_at")), output_field=DateTimeField()
    )
    return qs.annotate(
        q_severity=severity_rank(),
        q_assigned=Case(
            When(assignee__isnull=True, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        q_next_due=Least(
            Coalesce(ack, far), Coalesce("update_due_at", far), Coalesce("resolve_due_at", far)
        ),
    )


def _bad_cursor() -> Exception:
    return field_error("cursor", "This cursor is not one the API gave out.")


def _encode_keys(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, dt.datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_keys(cursor: str, sort: Sort) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        values = json.loads(raw)
    except ValueError:
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(sort.keys):
        raise _bad_cursor()
    out: list[Any] = []
    for (name, _), value in zip(sort.keys, values, strict=True):
        if name == "q_next_due":
            if not isinstance(value, str):
                raise _bad_cursor()
            try:
                out.append(dt.datetime.fromisoformat(value))
            except ValueError:
                raise _bad_cursor() from None
        elif name in ("id", "q_assigned", "q_severity"):
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
                raise _bad_cursor()
            out.append(value)
        else:
            if not isinstance(value, str):
                raise _bad_cursor()
            out.append(value)
    return out


def keyset_page(
    qs: QuerySet[Incident], sort: Sort, cursor: str | None, limit: int
) -> tuple[list[Incident], str | None]:
    """Keyset pagination over any sort: rows strictly after the cursor's key, so a deep page
    costs what the first one does. A cursor this did not give out is refused (InvalidInput
    naming `cursor`)."""
    if cursor:
        values = _decode_keys(cursor, sort)
        after = Q()
        for i, (name, desc) in enumerate(sort.keys):
            step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
            for j, (prev_name, _) in enumerate(sort.keys[:i]):
                step &= Q(**{prev_name: values[j]})
            after |= step
        qs = qs.filter(after)
    order = [f"-{name}" if desc else name for name, desc in sort.keys]
    items = list(qs.order_by(*order)[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = _encode_keys([getattr(last, name) for name, _ in sort.keys])
    return items[:limit], next_cursor
