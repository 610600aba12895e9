"""Storing and activating policy versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.services import audit_record

from . import loader
from .models import PolicyVersion


def policy_activate_text(*, by: Any, text: str, source: str) -> PolicyVersion:
    """Validate `text` and make it the active policy, storing it when it is new.

    Raises loader.PolicyInvalid (nothing stored) when the text has problems.
    """
    if by is not None:
        require(by, "policy.edit")
    loader.parse(text)
    digest = loader.content_hash(text)
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().filter(content_hash=digest).first()
        if version is not None and version.active:
            return version
        PolicyVersion.objects.filter(active=True).update(active=False)
        if version is None:
            version = PolicyVersion.objects.create(
                content_hash=digest,
                text=text,
                source=source[:300],
                created_at=clock.now(),
                created_by=by,
                active=True,
            )
        else:
            version.active = True
            version.save(update_fields=["active"])
        audit_record(
            by=by,
            kind="policy_activated",
            data={"version": version.pk, "hash": digest, "source": version.source},
        )
    return version


def policy_sync_from_file() -> PolicyVersion:
    """At start-up: load INCIDENTDESK_POLICY (or the default) when its text is not stored yet.

    A file already stored is not re-activated, so a policy edited in the application is not
    overwritten by an unchanged file on restart.
    """
    path = Path(settings.POLICY_PATH) if settings.POLICY_PATH else loader.DEFAULT_POLICY_PATH
    text, _ = loader.load_file(path)
    existing = PolicyVersion.objects.filter(content_hash=loader.content_hash(text)).first()
    active = PolicyVersion.objects.filter(active=True).first()
    if existing is not None and active is not None:
        return active
    return policy_activate_text(by=None, text=text, source=str(path))
