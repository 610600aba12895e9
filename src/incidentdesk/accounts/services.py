"""Accounts, stakeholder organisations and API tokens. `by=None` is the operator at the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from incidentdesk.core import clock, crypto
from incidentdesk.core.compiled import Compiled
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import clean, printable

from . import factors, rolemap
from .models import (
    ApiToken,
    AuthenticatorApp,
    ExternalIdentity,
    Passkey,
    RecoveryCode,
    Role,
    SignInSession,
    StakeholderOrg,
    TokenScope,
    User,
)
from .permissions import require
from .providers import ProviderConfig

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


# an API request's first reads, built once per process (core/compiled.py)
_TOKEN_BY_DIGEST = Compiled(lambda digest: ApiToken.objects.filter(digest=digest)[:1])
_USER_BY_ID = Compiled(lambda pk: User.objects.filter(pk=pk)[:1])


def token_lookup(raw: str) -> ApiToken | None:
    """The live token `raw` is, with its active user, or None; notes when it was last used."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    now = clock.now()
    token = _TOKEN_BY_DIGEST.first(digest=_digest(raw))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    user = _USER_BY_ID.first(pk=token.user_id)
    if user is None or not user.is_active:
        return None
    token.user = user
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


# -- single sign-on ------------------------------------------------------------------------


class SignInRefused(Exception):
    """The provider vouched for the person, but IncidentDesk does not let them in."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _claim_text(claims: dict[str, Any], name: str, limit: int = 150) -> str:
    value = claims.get(name)
    return str(value).strip()[:limit] if isinstance(value, (str, int)) else ""


def _refuse(*, reason: str, detail: str, issuer: str, claims: dict[str, Any]) -> SignInRefused:
    audit_record(
        by=None,
        kind="sso_refused",
        data={
            "issuer": issuer,
            "subject": _claim_text(claims, "sub", 255),
            "email": _claim_text(claims, "email", 254),
            "reason": reason,
        },
    )
    return SignInRefused(reason, detail)


def sso_sign_in(*, provider: ProviderConfig, claims: dict[str, Any]) -> User:
    """The account a verified ID token's claims (from `provider`) sign in to, created or
    brought up to date.

    The role (and a stakeholder's organisation) follows the provider's roles claim at every
    sign-in; a person whose claim no longer maps loses access (their account is deactivated, so
    their sessions end too) and is refused. An existing account is linked by e-mail address only
    when the provider says that address is verified. Raises SignInRefused with the reason."""
    subject = _claim_text(claims, "sub", 255)
    email = _claim_text(claims, "email", 254).lower()
    verified = claims.get("email_verified") in (True, "true")
    issuer = provider.issuer
    grant = rolemap.grant_for(claims, provider.roles_claim, provider.role_map)
    now = clock.now()
    refusal: SignInRefused | None = None
    with transaction.atomic():
        link = (
            ExternalIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
            if subject
            else None
        )
        user = link.user if link else None
        if not subject:
            refusal = _refuse(
                reason="no_subject",
                detail="The identity provider did not say who you are.",
                issuer=issuer,
                claims=claims,
            )
        elif user is None and email:
            user = User.objects.select_for_update().filter(email=email).first()
            if user is not None and not verified:
                refusal = _refuse(
                    reason="email_not_verified",
                    detail=(
                        f"An account for {email} exists here, but your identity provider does"
                        " not say that this address is verified, so it cannot be linked."
                        " Ask your administrator."
                    ),
                    issuer=issuer,
                    claims=claims,
                )
        elif user is None:
            refusal = _refuse(
                reason="no_email",
                detail="Your identity provider did not give an e-mail address.",
                issuer=issuer,
                claims=claims,
            )
        if refusal is None and user is not None and not user.is_active:
            refusal = _refuse(
                reason="account_inactive",
                detail="Your account here is deactivated. Ask your administrator.",
                issuer=issuer,
                claims=claims,
            )
        if refusal is None and grant is None:
            if user is not None and link is not None:
                # Out of every mapped group: this browser is refused, and every other session
                # and API token of theirs ends now rather than when it expires.
                _tokens_revoke_all(by=None, user=user, reason="sso_access_removed")
                ended = _sessions_drop(user=user, keep_key=None)
                audit_record(
                    by=None,
                    kind="sso_access_removed",
                    data={"email": user.email, "issuer": issuer, "sessions_ended": ended},
                )
            refusal = _refuse(
                reason="no_mapped_group",
                detail=(
                    "Your account at the identity provider is not in a group that gives"
                    " access to IncidentDesk. Ask your administrator to add you."
                ),
                issuer=issuer,
                claims=claims,
            )
        if refusal is None:
            assert grant is not None
            org = None
            if grant.organisation:
                org = StakeholderOrg.objects.filter(name=grant.organisation).first()
                if org is None:
                    org = org_get_or_create(by=None, name=grant.organisation)
                if not org.active:
                    refusal = _refuse(
                        reason="organisation_inactive",
                        detail=f"The organisation {org.name} has no access at the moment.",
                        issuer=issuer,
                        claims=claims,
                    )
        if refusal is None:
            assert grant is not None
            user = _sso_apply(
                user=user,
                email=email,
                claims=claims,
                role=grant.role,
                org=org,
                issuer=issuer,
            )
            if link is None:
                ExternalIdentity.objects.create(
                    user=user,
                    issuer=issuer,
                    subject=subject,
                    provider_id=provider.pk,
                    created_at=now,
                    last_sign_in_at=now,
                )
                audit_record(
                    by=user,
                    kind="sso_linked",
                    data={
                        "email": user.email,
                        "issuer": issuer,
                        "subject": subject,
                        "provider": provider.name,
                    },
                )
            else:
                # an issuer's provider deleted and added again: the link follows the new one
                link.last_sign_in_at, link.provider_id = now, provider.pk
                link.save(update_fields=["last_sign_in_at", "provider"])
    if refusal is not None:
        raise refusal
    assert user is not None
    return user


def _sso_apply(
    *,
    user: User | None,
    email: str,
    claims: dict[str, Any],
    role: str,
    org: StakeholderOrg | None,
    issuer: str,
) -> User:
    if user is None:
        user = User.objects.create_user(
            email,
            None,
            role=role,
            organisation=org,
            first_name=_claim_text(claims, "given_name") or _claim_text(claims, "name"),
            last_name=_claim_text(claims, "family_name"),
        )
        audit_record(
            by=None,
            kind="sso_account_created",
            data={"email": user.email, "issuer": issuer, "role": role, "org": org and org.name},
        )
        return user
    before = (user.role, user.organisation.name if user.organisation else None)
    after = (role, org.name if org else None)
    if before != after:
        user.role, user.organisation = role, org
        user.save(update_fields=["role", "organisation"])
        audit_record(
            by=None,
            kind="sso_role_changed",
            data={
                "email": user.email,
                "issuer": issuer,
                "from": {"role": before[0], "org": before[1]},
                "to": {"role": after[0], "org": after[1]},
            },
        )
    return user


def sign_in_record(
    *,
    user: User,
    method: str,
    address: str | None,
    session_key: str | None = None,
    user_agent: str = "",
) -> None:
    """Note a sign-in in the audit log (how: password, single sign-on, passkey; and from where)
    and, for a browser, among the person's sessions."""
    with transaction.atomic():
        if session_key:
            SignInSession.objects.update_or_create(
                session_key=session_key,
                defaults={
                    "user": user,
                    "method": method[:60],
                    "address": (address or "")[:45],
                    "user_agent": printable(user_agent)[:200],
                    "created_at": clock.now(),
                },
            )
        audit_record(
            by=user,
            kind="signed_in",
            data={"email": user.email, "method": method, "address": address},
        )


def sessions_end(*, user: User, session_id: int | None, keep_key: str | None) -> int:
    """End one of `user`'s sessions (`session_id`), or all but the one with `keep_key`.

    The browser holding an ended session is signed out at its next request."""
    with transaction.atomic():
        if session_id is None:
            count = _sessions_drop(user=user, keep_key=keep_key)
        else:
            rows = SignInSession.objects.select_for_update().filter(user=user, pk=session_id)
            keys = list(rows.values_list("session_key", flat=True))
            if not keys:
                raise NotFound("No such session.")
            Session.objects.filter(session_key__in=keys).delete()
            rows.delete()
            count = len(keys)
        audit_record(
            by=user,
            kind="sessions_ended",
            data={"email": user.email, "count": count, "all": session_id is None},
        )
    return count


def _sessions_drop(*, user: User, keep_key: str | None) -> int:
    """Delete `user`'s sessions but `keep_key`'s (inside the caller's transaction)."""
    rows = SignInSession.objects.select_for_update().filter(user=user)
    if keep_key:
        rows = rows.exclude(session_key=keep_key)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)


def sign_in_failure_record(*, email: str, address: str | None, step: str = "password") -> None:
    """Note a refused sign-in: the account it named, from where, at which step."""
    with transaction.atomic():
        audit_record(
            by=None,
            kind="sign_in_failed",
            data={"email": printable(email)[:254], "address": address, "step": step},
        )


# -- second factors ------------------------------------------------------------------------


def _recovery_codes_replace(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = factors.new_recovery_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=factors.recovery_digest(code)) for code in codes]
    )
    return codes


def authenticator_enable(*, user: User, secret: str, code: str) -> list[str]:
    """Add `user`'s authenticator app once it shows a right code; its recovery codes (shown once)."""
    step = factors.matching_step(secret, code)
    if step is None:
        raise field_error(
            "code",
            "That code is not the one your app shows now. Check the phone's clock and try the"
            " next code.",
        )
    with transaction.atomic():
        if AuthenticatorApp.objects.select_for_update().filter(user=user).exists():
            raise Conflict("An authenticator app is already set up: remove it first.")
        AuthenticatorApp.objects.create(
            user=user,
            secret_encrypted=crypto.encrypt(secret),
            created_at=clock.now(),
            last_step=step,
        )
        codes = _recovery_codes_replace(user)
        audit_record(
            by=user,
            kind="second_factor_added",
            data={"email": user.email, "factor": "authenticator app"},
        )
    return codes


def authenticator_remove(*, user: User, password: str) -> None:
    """Remove the app and the recovery codes; the person confirms with their password."""
    if not user.has_usable_password() or not user.check_password(password):
        raise field_error("password", "That is not your password.")
    with transaction.atomic():
        deleted, _ = AuthenticatorApp.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if deleted:
            audit_record(
                by=user,
                kind="second_factor_removed",
                data={"email": user.email, "factor": "authenticator app"},
            )


def recovery_codes_renew(*, user: User) -> list[str]:
    """New recovery codes (the old ones stop working), shown once."""
    with transaction.atomic():
        if not AuthenticatorApp.objects.filter(user=user).exists():
            raise Conflict("Recovery codes come with an authenticator app: set one up first.")
        codes = _recovery_codes_replace(user)
        audit_record(by=user, kind="recovery_codes_renewed", data={"email": user.email})
    return codes


def second_factor_check(*, user: User, code: str, address: str | None) -> str | None:
    """The factor `code` proves ("authenticator app" or "recovery code"), used up; else None.

    An app's code works once (a replayed one is refused); a recovery code works once."""
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is None:
            return None
        step = factors.matching_step(factors.app_secret(app), code)
        if step is not None and step > app.last_step:
            app.last_step = step
            app.save(update_fields=["last_step"])
            return "authenticator app"
        recovery = (
            RecoveryCode.objects.select_for_update()
            .filter(user=user, digest=factors.recovery_digest(code), used_at__isnull=True)
            .first()
        )
        if recovery is not None:
            recovery.used_at = clock.now()
            recovery.save(update_fields=["used_at"])
            left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            audit_record(
                by=user,
                kind="recovery_code_used",
                data={"email": user.email, "left": left, "address": address},
            )
            return "recovery code"
    sign_in_failure_record(email=user.email, address=address, step="second factor")
    return None


def passkey_add(
    *, user: User, name: str, credential_id: str, public_key: bytes, sign_count: int
) -> Passkey:
    """Keep a passkey `user` has just created (its public key only)."""
    name = clean("name", name, limit=100, required=False, multiline=False) or "Passkey"
    with transaction.atomic():
        passkey = Passkey.objects.create(
            user=user,
            name=name,
            credential_id=credential_id,
            public_key=public_key,
            sign_count=sign_count,
            created_at=clock.now(),
        )
        audit_record(
            by=user,
            kind="second_factor_added",
            data={"email": user.email, "factor": "passkey", "name": name},
        )
    return passkey


def passkey_remove(*, user: User, passkey_id: int) -> None:
    """Remove one of `user`'s own passkeys; another person's is not found."""
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().filter(user=user, pk=passkey_id).first()
        if passkey is None:
            raise NotFound("No such passkey.")
        passkey.delete()
        audit_record(
            by=user,
            kind="second_factor_removed",
            data={"email": user.email, "factor": "passkey", "name": passkey.name},
        )


def passkey_used(*, passkey: Passkey, sign_count: int) -> None:
    """A passkey signed in: keep its counter (a cloned key shows an old one) and the time."""
    Passkey.objects.filter(pk=passkey.pk).update(sign_count=sign_count, last_used_at=clock.now())
