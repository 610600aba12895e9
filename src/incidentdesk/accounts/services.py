"""Accounts, stakeholder organisations and API tokens. `by=None` is the operator at the CLI."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, field_error
from incidentdesk.core.services import audit_record

from .models import ApiToken, Role, StakeholderOrg, User
from .permissions import require

TOKEN_PREFIX = "idk_"


def _require_operator(by: User | None, action: str) -> None:
    if by is not None:
        require(by, action)


def org_get_or_create(*, by: User | None, name: str) -> StakeholderOrg:
    _require_operator(by, "org.manage")
    name = name.strip()
    if not name or len(name) > 120:
        raise field_error("name", "An organisation name has 1 to 120 characters.")
    with transaction.atomic():
        org, created = StakeholderOrg.objects.get_or_create(name=name)
        if created:
            audit_record(by=by, kind="org_created", data={"org": org.name})
    return org


def org_set_active(*, by: User | None, org: StakeholderOrg, active: bool) -> StakeholderOrg:
    _require_operator(by, "org.manage")
    with transaction.atomic():
        org.active = active
        org.save(update_fields=["active"])
        audit_record(by=by, kind="org_updated", data={"org": org.name, "active": active})
    return org


def user_create(
    *,
    by: User | None,
    email: str,
    password: str,
    role: str,
    org_name: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create an account; a stakeholder needs an organisation, which is created when new."""
    _require_operator(by, "user.manage")
    errors: list[FieldError] = []
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors.append(FieldError("email", f"{email!r} is not an e-mail address."))
    if role not in Role.values:
        errors.append(
            FieldError("role", f"Unknown role {role!r} (known: {', '.join(Role.values)}).")
        )
    if role == Role.STAKEHOLDER and not org_name:
        errors.append(FieldError("org", "A stakeholder belongs to an organisation: give --org."))
    if org_name and role != Role.STAKEHOLDER:
        errors.append(FieldError("org", "Only stakeholders belong to a stakeholder organisation."))
    try:
        validate_password(password)
    except ValidationError as exc:
        errors.extend(FieldError("password", m) for m in exc.messages)
    if errors:
        raise InvalidInput("The account was not created.", errors)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise Conflict(
                f"An account for {email} already exists.", [FieldError("email", "taken")]
            )
        org = org_get_or_create(by=by, name=org_name) if org_name else None
        user = User.objects.create_user(
            email,
            password,
            role=role,
            organisation=org,
            first_name=first_name,
            last_name=last_name,
            is_staff=role == Role.ADMIN,
        )
        audit_record(
            by=by,
            kind="user_created",
            data={"email": email, "role": role, "org": org.name if org else None},
        )
    return user


def user_update(
    *, by: User | None, user: User, role: str | None = None, active: bool | None = None
) -> User:
    _require_operator(by, "user.manage")
    changes: dict[str, Any] = {}
    if role is not None:
        if role not in Role.values:
            raise field_error("role", f"Unknown role {role!r}.")
        if role == Role.STAKEHOLDER and user.organisation_id is None:
            raise field_error("role", "A stakeholder needs an organisation.")
        if role != Role.STAKEHOLDER and user.organisation_id is not None:
            raise field_error("role", "A member of a stakeholder organisation stays a stakeholder.")
        changes["role"] = role
    if active is not None:
        if by is not None and by.pk == user.pk and not active:
            raise field_error("active", "You cannot deactivate your own account.")
        changes["is_active"] = active
    if not changes:
        return user
    with transaction.atomic():
        for key, value in changes.items():
            setattr(user, key, value)
        user.save(update_fields=list(changes))
        audit_record(by=by, kind="user_updated", data={"email": user.email, **changes})
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, by: User | None, user: User, name: str = "") -> tuple[str, ApiToken]:
    """Return (token, row). The token is never stored; only its SHA-256 is."""
    if by is not None and by.pk != user.pk:
        require(by, "user.manage")
    elif by is not None:
        require(by, "token.create_own")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=raw[:12],
            digest=_digest(raw),
            created_at=clock.now(),
        )
        audit_record(
            by=by, kind="token_created", data={"email": user.email, "prefix": token.prefix}
        )
    return raw, token


def token_revoke(*, by: User | None, token: ApiToken) -> ApiToken:
    if by is not None and by.pk != token.user_id:
        require(by, "user.manage")
    with transaction.atomic():
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        audit_record(by=by, kind="token_revoked", data={"prefix": token.prefix})
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
