"""Hash chains for append-only records (incident timelines, the audit log).

hash = SHA-256(canonical JSON of the entry's fields + the previous entry's hash). Editing,
inserting or deleting any stored entry changes a hash downstream of it, so `verify` finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import clock

GENESIS = "0" * 64


# the canonical JSON of every hashed entry: keys sorted, no spaces, text as written
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_time(at: dt.datetime) -> str:
    """`at` in UTC as 2026-12-03T11:42:46.000000Z."""
    if at.tzinfo is not dt.UTC:
        at = at.astimezone(dt.UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def entry_hash(
    *, scope: str, seq: int, kind: str, actor: str, at: dt.datetime, data: Any, prev_hash: str
) -> str:
    return text_hash(
        scope_json=canonical_json(scope),
        seq=seq,
        kind_json=canonical_json(kind),
        actor_json=canonical_json(actor),
        at_text=canonical_time(at),
        data_json=canonical_json(data),
        prev_hash=prev_hash,
    )


def text_hash(
    *,
    scope_json: str,
    seq: int,
    kind_json: str,
    actor_json: str,
    at_text: str,
    data_json: str,
    prev_hash: str,
) -> str:
    """`entry_hash` from the entry's parts already in canonical text (`canonical_json` of the
    scope, kind, actor and data, `canonical_time` of the moment), for writers of many entries:
    the canonical JSON of {"actor", "at", "data", "kind", "scope", "seq"} (keys sorted), then
    the previous hash."""
    body = (
        f'{{"actor":{actor_json},"at":"{at_text}","data":{data_json},'
        f'"kind":{kind_json},"scope":{scope_json},"seq":{int(seq)}}}'
    )
    return hashlib.sha256((body + prev_hash).encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """The chained fields of the next entry: the record stores them beside kind, actor, data."""

    seq: int
    actor_label: str
    at: dt.datetime
    prev_hash: str
    hash: str

    def fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "actor_label": self.actor_label,
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def next_link(*, scope: str, head_seq: int, head_hash: str, kind: str, by: Any, data: Any) -> Link:
    """The next entry after a chain's head (`head_seq` 0 and GENESIS for an empty chain),
    written by `by` (None: the system) now. The one recipe for every chain."""
    seq = head_seq + 1
    at = clock.now()
    label = by.email if by is not None else "system"
    digest = entry_hash(
        scope=scope, seq=seq, kind=kind, actor=label, at=at, data=data, prev_hash=head_hash
    )
    return Link(seq=seq, actor_label=label, at=at, prev_hash=head_hash, hash=digest)


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def verify(scope: str, entries: Iterable[Any], head: str | None = None) -> Break | None:
    """The first broken entry of a chain (ordered by seq), or None when it is intact.

    `head`, when given, is the hash the chain's owner recorded for its last entry: it catches
    entries deleted from the end.
    """
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            return Break(expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return Break(entry.seq, "prev_hash does not match the previous entry")
        computed = entry_hash(
            scope=scope,
            seq=entry.seq,
            kind=entry.kind,
            actor=entry.actor_label,
            at=entry.at,
            data=entry.data,
            prev_hash=entry.prev_hash,
        )
        if computed != entry.hash:
            return Break(entry.seq, "content does not match its hash (edited after it was written)")
        prev = entry.hash
        expected_seq += 1
    if head is not None and head != prev:
        return Break(expected_seq, "entries after this point were removed")
    return None
