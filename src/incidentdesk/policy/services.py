"""Storing and activating policy versions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomlkit
from django.conf import settings
from django.db import transaction
from tomlkit.items import AoT

from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, NotFound, field_error
from incidentdesk.core.services import audit_record

from . import loader
from .models import PolicyVersion
from .schema import Policy
from .selectors import active_version, policy_of


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


# -- the guideline library -------------------------------------------------------------------
# Guidelines are edited in the active policy's own text, so that its comments, order and
# layout survive: the manager who exports it (`incidentdesk policy show`) gets back the file
# they wrote, with the checklists changed.

Target = tuple[str, str | None]


def _label(policy: Policy, target: Target) -> str:
    type_key, severity = target
    label = policy.types[type_key].label if type_key in policy.types else type_key
    return label + (f" {severity}" if severity else "")


@contextmanager
def _editing(by: Any, expected_version: int | None) -> Iterator[tuple[PolicyVersion, Policy]]:
    """The active policy, locked for an edit in this transaction: a second manager's edit
    from the same version waits, then finds it stale, so no edit overwrites another."""
    require(by, "policy.edit")
    with transaction.atomic():
        active_version()  # the first start-up stores the policy file: before the lock
        version = PolicyVersion.objects.select_for_update().get(active=True)
        if expected_version is not None and version.pk != expected_version:
            raise Conflict(
                "The policy was changed by someone else since you opened this form; check "
                "your change against the current policy and save again."
            )
        yield version, policy_of(version)


def _activate(by: Any, doc: tomlkit.TOMLDocument, kind: str, data: dict[str, Any]) -> PolicyVersion:
    """Store and activate the edited text, with the audit entry of the edit."""
    version = policy_activate_text(
        by=by, text=tomlkit.dumps(doc), source=f"guideline library ({by.email})"
    )
    audit_record(by=by, kind=kind, data={**data, "policy_version": version.pk})
    return version


def _guideline_tables(doc: tomlkit.TOMLDocument) -> AoT:
    existing = doc.get("guidelines")
    if isinstance(existing, AoT):
        return existing
    tables = tomlkit.aot()
    doc.append("guidelines", tables)
    return tables


def _find(tables: AoT, target: Target) -> int | None:
    for i, table in enumerate(tables):
        if (table.get("type"), table.get("severity")) == target:
            return i
    return None


def guideline_save(
    *,
    by: Any,
    type_key: str,
    severity: str | None,
    steps: list[str],
    original: Target | None = None,
    expected_version: int | None = None,
) -> PolicyVersion:
    """Create the guideline for (type, severity), or replace `original` with it: a new active
    policy version. Raises PolicyInvalid (nothing stored) when the result is not a valid
    policy, InvalidInput when another guideline has that type and severity already."""
    target: Target = (type_key, severity or None)
    with _editing(by, expected_version) as (version, policy):
        known = {(g.type, g.severity) for g in policy.guidelines}
        if original is not None and original not in known:
            raise NotFound("No such guideline in the active policy.")
        if target != original and target in known:
            raise field_error(
                "severity", "A guideline for this type and severity exists already: edit it."
            )
        doc = tomlkit.parse(version.text)
        tables = _guideline_tables(doc)
        at = _find(tables, original) if original is not None else None
        table = tables[at] if at is not None else tomlkit.table()
        for key in ("severity", "steps"):
            if key in table:
                del table[key]
        table["type"] = type_key
        if severity:
            table["severity"] = severity
        listed = tomlkit.array()
        for step in steps:
            listed.add_line(step, indent="  ")  # laid out as the policy file lays out its lists
        listed.add_line(indent="")
        table["steps"] = listed
        if at is None:
            table.add(tomlkit.nl())
            tables.append(table)
        replaced = list(original) if original and original != target else None
        return _activate(
            by,
            doc,
            "guideline_saved",
            {
                "type": type_key,
                "severity": severity or None,
                "replaced": replaced,
                "steps": len(steps),
            },
        )


def guideline_delete(
    *, by: Any, type_key: str, severity: str | None, expected_version: int | None = None
) -> PolicyVersion:
    """Remove the guideline for (type, severity): a new active policy version. Incidents
    already categorized keep the checklist they were given."""
    target: Target = (type_key, severity or None)
    with _editing(by, expected_version) as (version, policy):
        doc = tomlkit.parse(version.text)
        tables = _guideline_tables(doc)
        at = _find(tables, target)
        if at is None:
            raise NotFound("No such guideline in the active policy.")
        del tables[at]
        if not len(tables):
            del doc["guidelines"]
        return _activate(
            by,
            doc,
            "guideline_deleted",
            {"type": type_key, "severity": severity or None, "label": _label(policy, target)},
        )
