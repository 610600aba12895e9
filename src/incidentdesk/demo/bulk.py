"""Writing rows in bulk, as the services would have written them one by one: COPY on
PostgreSQL, batched inserts on SQLite; timelines hash-chained exactly as `timeline.append`
chains them. Used by `demo --scale` and the benches that need data at size."""

from __future__ import annotations

import datetime as dt
import time
import typing
from collections.abc import Callable, Sequence
from typing import IO, Any

from django.db import connection, models

from incidentdesk.accounts.models import User
from incidentdesk.core import chain
from incidentdesk.incidents.models import Incident


class Json(str):
    """A JSON value already in its canonical text (`chain.canonical_json`): written as it is,
    so an entry's data is serialised once, for its hash and for its row alike."""


_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return str.translate(text, _COPY_SPECIAL)
    return str.__str__(text)  # a str subclass (a choice, Json) as its plain text


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is dt.datetime or kind is dt.date:
        return value.isoformat()
    if kind is bool:
        return "t" if value else "f"
    if kind is dict or kind is list:
        return _escape(chain.canonical_json(value))
    if isinstance(value, str):
        return _escape(value)
    return str(value)


def entry_line(row: tuple[Any, ...]) -> str:
    """A timeline entry's row (ENTRY_FIELDS, its time and data as `Chain.add` keeps them) in
    COPY text format: most of a generated history's rows, so written without `_copy_text`."""
    incident, seq, kind, actor, label, at_text, data_json, prev_hash, digest = row
    actor = "\\N" if actor is None else actor
    if "\\" in data_json:  # JSON text has no raw tab or newline; only its escapes need doubling
        data_json = data_json.replace("\\", "\\\\")
    return (
        f"{incident}\t{seq}\t{kind}\t{actor}\t{_escape(label)}\t{at_text}\t{data_json}\t"
        f"{prev_hash}\t{digest}\n"
    )


def insert_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    line: Callable[[tuple[Any, ...]], str] | None = None,
) -> None:
    """Insert rows of attribute values (`names`: field attnames) into the model's table: COPY
    on PostgreSQL (text format, sent in chunks of about a megabyte), a batched INSERT
    elsewhere. No signals, no save(): the caller answers for the rows being what the services
    would have written. `line`: a faster COPY line for these rows."""
    if not rows:
        return
    fields = [typing.cast(models.Field, model._meta.get_field(n)) for n in names]  # type: ignore[type-arg]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = _copy_text
            if line is None:
                line = lambda row: "\t".join([text(v) for v in row]) + "\n"  # noqa: E731
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for start in range(0, len(rows), 2_000):
                    copy.write("".join(map(line, rows[start : start + 2_000])))
            return
        marks = ", ".join(["%s"] * len(fields))
        prepared = [
            [
                v if type(v) is Json else f.get_db_prep_save(v, connection)
                for f, v in zip(fields, row, strict=True)
            ]
            for row in rows
        ]
        for start in range(0, len(prepared), 500):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", prepared[start : start + 500]
            )


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for the model's table. Call inside the batch's transaction:
    on SQLite that transaction holds the write lock, so nobody takes the same keys."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = cursor.fetchone()[0]
    return list(range(start + 1, start + count + 1))


ENTRY_FIELDS = (
    "incident_id",
    "seq",
    "kind",
    "actor_id",
    "actor_label",
    "at",
    "data",
    "prev_hash",
    "hash",
)


class Chain:
    """One incident's timeline, chained as `timeline.append` chains it."""

    def __init__(self, incident: Incident, rows: list[tuple[Any, ...]]) -> None:
        self.incident = incident
        self.rows = rows
        self.seq = incident.timeline_seq
        self.head = incident.timeline_head or chain.GENESIS
        self.incident_id = incident.id
        self.scope_json = chain.canonical_json(incident.ref)

    def add(self, kind: str, by: User | None, at: dt.datetime, data: dict[str, Any]) -> int:
        self.seq = seq = self.seq + 1
        label = by.email if by is not None else "system"
        data_json = Json(chain.canonical_json(data))
        at_text = chain.canonical_time(at)
        digest = chain.text_hash(
            scope_json=self.scope_json,
            seq=seq,
            kind_json=_json_text(kind),
            actor_json=_json_text(label),
            at_text=at_text,
            data_json=data_json,
            prev_hash=self.head,
        )
        self.rows.append(
            (self.incident_id, seq, kind, by.id if by else None, label, at_text, data_json, self.head, digest)
        )  # fmt: skip
        self.head = digest
        inc = self.incident
        inc.timeline_seq, inc.timeline_head, inc.updated_at = seq, digest, at
        if by is not None:
            inc.version += 1
        return seq


_JSON_TEXTS: dict[str, str] = {}


def _json_text(text: str) -> str:
    """The canonical JSON of a kind or an actor's label, kept: a batch repeats a few dozen."""
    found = _JSON_TEXTS.get(text)
    if found is None:
        found = chain.canonical_json(text)
        if len(_JSON_TEXTS) < 10_000:
            _JSON_TEXTS[text] = found
    return found


class Progress:
    """A one-line progress bar on a terminal stream: count, share, rate and time left."""

    def __init__(self, total: int, stream: IO[str], what: str = "incidents") -> None:
        self.total, self.stream, self.what = total, stream, what
        self.started = time.monotonic()
        self.done = 0

    def add(self, count: int) -> None:
        self.done += count
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} "
            f"{self.what} {rate:,.0f}/s, {left:,.0f} s left "
        )
        if self.done >= self.total:
            self.stream.write(f"\n{self.done:,} {self.what} in {elapsed:,.1f} s\n")
        self.stream.flush()
