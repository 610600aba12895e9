"""Writing rows in bulk, as the services would have written them one by one: COPY on
PostgreSQL, batched inserts on SQLite; timelines hash-chained exactly as `timeline.append`
chains them. Used by `demo --scale` and the benches that need data at size."""

from __future__ import annotations

import datetime as dt
import json
import time
import typing
from collections.abc import Sequence
from typing import IO, Any

from django.db import connection, models

from incidentdesk.accounts.models import User
from incidentdesk.core import chain
from incidentdesk.incidents.models import Incident


def insert_rows(model: type[models.Model], names: Sequence[str], rows: list[tuple[Any, ...]]):
    """Insert rows of attribute values (`names`: field attnames) into the model's table: COPY
    on PostgreSQL, a batched INSERT elsewhere. No signals, no save(): the caller answers for
    the rows being what the services would have written."""
    if not rows:
        return
    fields = [typing.cast(models.Field, model._meta.get_field(n)) for n in names]  # type: ignore[type-arg]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [json.dumps(v) if isinstance(v, dict | list) else v for v in row]
                    )
            return
        marks = ", ".join(["%s"] * len(fields))
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
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

    def add(self, kind: str, by: User | None, at: dt.datetime, data: dict[str, Any]) -> int:
        self.seq += 1
        label = by.email if by is not None else "system"
        digest = chain.entry_hash(
            scope=self.incident.ref,
            seq=self.seq,
            kind=kind,
            actor=label,
            at=at,
            data=data,
            prev_hash=self.head,
        )
        self.rows.append(
            (
                self.incident.pk,
                self.seq,
                kind,
                by.pk if by else None,
                label,
                at,
                data,
                self.head,
                digest,
            )
        )
        self.head = digest
        inc = self.incident
        inc.timeline_seq, inc.timeline_head, inc.updated_at = self.seq, digest, at
        if by is not None:
            inc.version += 1
        return self.seq


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
