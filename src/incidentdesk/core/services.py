"""The audit log: actions taken outside an incident."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import chain
from .models import AuditEntry, ChainHead

AUDIT_CHAIN = "audit"


def audit_record(*, by: Any, kind: str, data: dict[str, Any]) -> AuditEntry:
    """Append one audit entry. Call inside the transaction of the action it documents."""
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            name=AUDIT_CHAIN, defaults={"hash": chain.GENESIS}
        )
        link = chain.next_link(
            scope=AUDIT_CHAIN, head_seq=head.seq, head_hash=head.hash, kind=kind, by=by, data=data
        )
        entry = AuditEntry.objects.create(kind=kind, actor=by, data=data, **link.fields())
        head.seq = link.seq
        head.hash = link.hash
        head.save(update_fields=["seq", "hash"])
    return entry


def audit_verify() -> chain.Break | None:
    head = ChainHead.objects.filter(name=AUDIT_CHAIN).first()
    return chain.verify(
        AUDIT_CHAIN, AuditEntry.objects.order_by("seq").iterator(), head.hash if head else None
    )
