"""The audit log: actions taken outside an incident."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import chain, clock
from .models import AuditEntry, ChainHead

AUDIT_CHAIN = "audit"


def audit_record(*, by: Any, kind: str, data: dict[str, Any]) -> AuditEntry:
    """Append one audit entry. Call inside the transaction of the action it documents."""
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            name=AUDIT_CHAIN, defaults={"hash": chain.GENESIS}
        )
        seq = head.seq + 1
        at = clock.now()
        label = by.email if by is not None else "system"
        digest = chain.entry_hash(
            scope=AUDIT_CHAIN,
            seq=seq,
            kind=kind,
            actor=label,
            at=at,
            data=data,
            prev_hash=head.hash,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            kind=kind,
            actor=by,
            actor_label=label,
            at=at,
            data=data,
            prev_hash=head.hash,
            hash=digest,
        )
        head.seq = seq
        head.hash = digest
        head.save(update_fields=["seq", "hash"])
    return entry


def audit_verify() -> chain.Break | None:
    head = ChainHead.objects.filter(name=AUDIT_CHAIN).first()
    return chain.verify(
        AUDIT_CHAIN, AuditEntry.objects.order_by("seq").iterator(), head.hash if head else None
    )
