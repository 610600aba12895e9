"""Accounts, stakeholder organisations and API tokens. `by=None` is the operator at the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, field_error
from incidentdesk.core.services import audit_record

from .models import ApiToken, Role, StakeholderOrg, TokenScope, User
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
        if active is False:
            _tokens_revoke_all(by=by, user=user, reason="deactivated")
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


TOKEN_MAX_DAYS = 3650


def _token_data(token: ApiToken, **extra: Any) -> dict[str, Any]:
    return {
        "email": token.user.email,
        "prefix": token.prefix,
        "name": token.name,
        "scope": token.scope,
        **extra,
    }


def _require_token_owner_or_admin(by: User | None, user: User) -> None:
    if by is None:
        return
    if by.pk == user.pk:
        require(by, "token.create_own")
    else:
        require(by, "user.manage")


def token_create(
    *,
    by: User | None,
    user: User,
    name: str = "",
    scope: str = TokenScope.WRITE,
    expires_in_days: int | None = None,
) -> tuple[str, ApiToken]:
    """Return (token, row). The token is never stored; only its SHA-256 is.

    `scope` is `read` (safe methods only) or `write`; `expires_in_days` None never expires."""
    _require_token_owner_or_admin(by, user)
    errors: list[FieldError] = []
    name = name.strip()
    if len(name) > 100:
        errors.append(FieldError("name", "A token name has at most 100 characters."))
    if scope not in TokenScope.values:
        errors.append(
            FieldError("scope", f"A token's scope is read, write or metrics, not {scope!r}.")
        )
    elif scope == TokenScope.METRICS and user.role != Role.ADMIN:
        errors.append(FieldError("scope", "Only an administrator's token may read /metrics."))
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
        errors.append(
            FieldError("expires_in_days", f"A token expires in 1 to {TOKEN_MAX_DAYS} days.")
        )
    if not user.is_active:
        errors.append(FieldError("user", f"{user.email} is deactivated."))
    if errors:
        raise InvalidInput("The token was not created.", errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            scope=scope,
            prefix=raw[:12],
            digest=_digest(raw),
            created_at=now,
            expires_at=expires_at,
        )
        audit_record(
            by=by,
            kind="token_created",
            data=_token_data(token, expires_at=expires_at.isoformat() if expires_at else None),
        )
    return raw, token


def token_revoke(*, by: User | None, token: ApiToken) -> ApiToken:
    """Revoke one token now; a token already revoked is a Conflict."""
    _require_token_owner_or_admin(by, token.user)
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if token.revoked_at is not None:
            raise Conflict(f"Token {token.prefix}… is already revoked.")
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        audit_record(by=by, kind="token_revoked", data=_token_data(token, reason="revoked"))
    return token


def _tokens_revoke_all(*, by: User | None, user: User, reason: str) -> int:
    """Revoke every live token of `user` (inside the caller's transaction), one audit entry each."""
    now = clock.now()
    tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
    for token in tokens:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit_record(by=by, kind="token_revoked", data=_token_data(token, reason=reason))
    return len(tokens)


def user_set_password(*, by: User | None, user: User, password: str) -> User:
    """Set a new password and revoke every API token of the account.

    A token made before a password change could be in the hands the change is meant to shut
    out; the person makes new ones."""
    _require_token_owner_or_admin(by, user)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            "The password was not changed.", [FieldError("password", m) for m in exc.messages]
        ) from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked = _tokens_revoke_all(by=by, user=user, reason="password_changed")
        audit_record(
            by=by, kind="password_changed", data={"email": user.email, "tokens_revoked": revoked}
        )
    return user


def token_lookup(raw: str) -> ApiToken | None:
    """The live token `raw` is, with its active user, or None; notes when it was last used."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    now = clock.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user a live bearer token belongs to, or None (a metrics token is nobody's
    key to the product: it only reads /metrics)."""
    token = token_lookup(raw)
    return token.user if token is not None and token.scope != TokenScope.METRICS else None


def login_lockout_record(*, email: str, address: str | None, failures: int) -> None:
    """Note in the audit log that logins to `email` from `address` are now locked out."""
    with transaction.atomic():
        audit_record(
            by=None,
            kind="login_locked_out",
            data={"email": email, "address": address, "failures": failures},
        )
