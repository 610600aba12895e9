"""Integrations: created, listed and revoked by managers (or the operator at the CLI, `by=None`).

Each is recorded in the audit log. The routing key is returned once and never stored."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.hashers import make_password
from django.db import transaction

from incidentdesk.accounts.models import Role, User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound
from incidentdesk.core.services import audit_record
from incidentdesk.policy.selectors import active_policy
from incidentdesk.statuspage.models import Component

from ..models import NAME_MAX, Integration

# The actors' addresses are in a reserved domain (RFC 2606): no mail is ever sent to them.
ACTOR_DOMAIN = "integrations.invalid"


def _require(by: User | None, action: str) -> None:
    if by is not None:
        require(by, action)


def routing_key_digest(raw: str) -> str:
    # a lone surrogate (possible in JSON) hashes to a digest no stored key has, not a 500
    return hashlib.sha256(raw.strip().encode("utf-8", "surrogatepass")).hexdigest()


def _check(name: str, component: str, type: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError("name", "Name is required."))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("name", f"At most {NAME_MAX} characters (this has {len(name)})."))
    if component and not Component.objects.filter(name=component).exists():
        known = ", ".join(Component.objects.values_list("name", flat=True)) or "none yet"
        errors.append(
            FieldError("component", f"No status page component {component!r} (known: {known}).")
        )
    if type:
        _, policy = active_policy()
        if type not in policy.types:
            errors.append(
                FieldError("type", f"Unknown type {type!r} (known: {', '.join(policy.types)}).")
            )
    return errors


def integration_create(
    *,
    by: User | None,
    name: str,
    component: str = "",
    type: str = "",
    auto_resolve: bool = False,
) -> tuple[str, Integration]:
    """Return (routing key, integration). The key is PagerDuty's shape (32 characters), so
    tools that check it accept it; only its SHA-256 is kept."""
    _require(by, "integration.manage")
    name, component, type = name.strip(), component.strip(), type.strip()
    errors = _check(name, component, type)
    if errors:
        raise InvalidInput("The integration was not created.", errors)
    raw = secrets.token_hex(16)
    with transaction.atomic():
        if Integration.objects.filter(name=name).exists():
            raise Conflict(
                f"An integration named {name!r} already exists.",
                [FieldError("name", "taken")],
            )
        actor = User.objects.create(
            email=f"{secrets.token_hex(8)}@{ACTOR_DOMAIN}",
            password=make_password(None),
            first_name=name[:150],
            last_name="(integration)",
            # the one team role no notification audience includes; it acknowledges and
            # resolves incidents for the source, and cannot log in (no password, no token)
            role=Role.ADMIN,
        )
        integration = Integration.objects.create(
            name=name,
            prefix=raw[:8],
            digest=routing_key_digest(raw),
            component=component,
            type=type,
            auto_resolve=auto_resolve,
            actor=actor,
            created_by=by,
            created_at=clock.now(),
        )
        audit_record(
            by=by,
            kind="integration_created",
            data={
                "integration": name,
                "prefix": integration.prefix,
                "component": component,
                "type": type,
                "auto_resolve": auto_resolve,
            },
        )
    return raw, integration


def integration_list(*, by: User | None, include_revoked: bool = False) -> list[Integration]:
    _require(by, "integration.view")
    rows = Integration.objects.all()
    if not include_revoked:
        rows = rows.filter(revoked_at__isnull=True)
    return list(rows)


def integration_revoke(
    *, by: User | None, name: str | None = None, integration_id: int | None = None
) -> Integration:
    """Refuse the integration's key from now on (named, or by id); its alerts and incidents
    stay."""
    _require(by, "integration.manage")
    active = Integration.objects.select_for_update().filter(revoked_at__isnull=True)
    with transaction.atomic():
        if integration_id is not None:
            integration = active.filter(pk=integration_id).first()
            missing = f"No active integration {integration_id}."
        else:
            integration = active.filter(name=(name or "").strip()).first()
            missing = f"No active integration named {(name or '').strip()!r}."
        if integration is None:
            raise NotFound(missing)
        integration.revoked_at = clock.now()
        integration.save(update_fields=["revoked_at"])
        User.objects.filter(pk=integration.actor_id).update(is_active=False)
        audit_record(
            by=by,
            kind="integration_revoked",
            data={"integration": integration.name, "prefix": integration.prefix},
        )
    return integration


def integration_for_key(raw: str) -> Integration | None:
    """The active integration a routing key belongs to, or None.

    Every alert event asks this first, so it is one prepared statement rather than a query
    the ORM builds each time (which cost more than the lookup itself); its account is read
    only when an alert opens an incident."""
    if not raw or len(raw) > 100:
        return None
    table = Integration._meta.db_table
    found = list(
        Integration.objects.raw(
            f"SELECT * FROM {table} WHERE digest = %s AND revoked_at IS NULL",
            [routing_key_digest(raw)],
        )
    )
    return found[0] if found else None
