"""Identity providers added in the pages: add, change, switch on or off, delete.

Each is an administrator's action ("provider.manage", the same people who manage accounts),
written to the audit log. A provider is saved only once its issuer's discovery document has
been read and checked, outside any transaction (no outside I/O inside one). The client secret
is encrypted at rest, never shown back and never in the audit log."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from incidentdesk.core import clock, crypto
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import CONTROL, TextRefused, problem, scrub

from . import rolemap
from .models import IdentityProvider, User
from .permissions import require

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# the environment provider's callback is /login/sso/callback
RESERVED_SLUGS = frozenset({"callback"})
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749, 3.3
CLAIM = re.compile(r"^[\x21-\x7e]{1,100}$")
ROLE_MAP_LIMIT = 2000
SECRET_LIMIT = 1000
ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class ProviderInput:
    """What the form (or any other caller) sends; `client_secret` empty on a change keeps the
    stored one."""

    name: str
    issuer: str
    client_id: str
    role_map: str
    client_secret: str = ""
    slug: str = ""
    scopes: str = "openid email profile"
    roles_claim: str = "groups"
    enabled: bool = True


def _line(errors: list[FieldError], field: str, value: str, limit: int, label: str) -> str:
    """A single line with no control character at all (addresses, identifiers, secrets: a
    dropped character would change them, so they are refused rather than cleaned)."""
    refused = problem(value)
    value = value.strip()
    if refused is None and ANY_CONTROL.search(value):
        refused = f"{label} is one line, without control characters."
    if refused:
        errors.append(FieldError(field, refused))
    elif not value:
        errors.append(FieldError(field, f"{label} is required."))
    elif len(value) > limit:
        errors.append(FieldError(field, f"At most {limit} characters (this has {len(value)})."))
    return value


def _issuer(errors: list[FieldError], value: str) -> str:
    issuer = _line(errors, "issuer", value, 255, "The issuer").rstrip("/")
    if errors and errors[-1].field == "issuer":
        return issuer
    parts = urllib.parse.urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        errors.append(
            FieldError("issuer", "The issuer is an address like https://sso.example.com/realm.")
        )
    elif parts.query or parts.fragment or parts.username or parts.password:
        errors.append(
            FieldError("issuer", "The issuer has no query, fragment, user name or password.")
        )
    elif parts.scheme != "https" and settings.HTTPS:
        errors.append(
            FieldError(
                "issuer",
                "IncidentDesk is reached over https (INCIDENTDESK_BASE_URL), so the identity"
                " provider must be too: its issuer starts with https://.",
            )
        )
    return issuer


def _checked(data: ProviderInput, *, creating: bool) -> ProviderInput:
    """`data` cleaned; InvalidInput listing every problem."""
    errors: list[FieldError] = []
    try:
        name = scrub(data.name, multiline=False)
    except TextRefused as exc:
        errors.append(FieldError("name", str(exc)))
        name = ""
    else:
        if not name:
            errors.append(FieldError("name", "The button's name is required."))
        elif len(name) > 60:
            errors.append(FieldError("name", f"At most 60 characters (this has {len(name)})."))
    slug = data.slug.strip().lower() if creating else data.slug
    if creating:
        slug = slug or slugify(name)[:40].strip("-")
        if not SLUG.match(slug) or slug in RESERVED_SLUGS:
            errors.append(
                FieldError(
                    "slug",
                    "The short name is 1 to 40 lower-case letters, digits and dashes (not"
                    " 'callback'), e.g. contoso.",
                )
            )
    issuer = _issuer(errors, data.issuer)
    client_id = _line(errors, "client_id", data.client_id, 255, "The client ID")
    secret = data.client_secret
    if secret:
        secret = _line(errors, "client_secret", secret, SECRET_LIMIT, "The client secret")
    scopes = " ".join(_line(errors, "scopes", data.scopes, 255, "The scopes").split())
    if scopes and not all(SCOPE_TOKEN.match(s) for s in scopes.split()):
        errors.append(FieldError("scopes", "Scopes are words separated by spaces."))
    elif scopes and "openid" not in scopes.split():
        errors.append(FieldError("scopes", "The scopes include openid (it is OpenID Connect)."))
    roles_claim = _line(errors, "roles_claim", data.roles_claim, 100, "The roles claim")
    if roles_claim and not CLAIM.match(roles_claim):
        errors.append(FieldError("roles_claim", "A claim's name has no spaces, e.g. groups."))
    role_map = _role_map(errors, data.role_map)
    if errors:
        raise InvalidInput("The identity provider was not saved.", errors)
    return ProviderInput(
        name=name,
        issuer=issuer,
        client_id=client_id,
        role_map=role_map,
        client_secret=secret,
        slug=slug,
        scopes=scopes,
        roles_claim=roles_claim,
        enabled=data.enabled,
    )


def _role_map(errors: list[FieldError], value: str) -> str:
    refused = problem(value)
    if refused:
        errors.append(FieldError("role_map", refused))
        return ""
    # one entry a line reads as well as commas
    text = ", ".join(
        part.strip() for part in re.split(r"[,\n]", CONTROL.sub("", value)) if part.strip()
    )
    if len(text) > ROLE_MAP_LIMIT:
        errors.append(FieldError("role_map", f"At most {ROLE_MAP_LIMIT} characters."))
        return text
    try:
        entries = rolemap.parse(text)
    except rolemap.RoleMapError as exc:
        errors.append(FieldError("role_map", str(exc)))
        return text
    if not entries:
        errors.append(
            FieldError(
                "role_map",
                "Without a role map nobody could sign in, e.g."
                " incident-managers=manager, helpdesk=member.",
            )
        )
    return text


def _discovered(issuer: str) -> None:
    from . import sso  # lazy: Authlib and requests (8 MiB) load only where single sign-on is used

    try:
        sso.discover(issuer)
    except sso.DiscoveryFailed as exc:
        raise InvalidInput(
            "The identity provider was not saved: its discovery document could not be read.",
            [FieldError("issuer", str(exc))],
        ) from None


def _unique(data: ProviderInput, pk: int | None) -> None:
    others = IdentityProvider.objects.all()
    if pk is not None:
        others = others.exclude(pk=pk)
    if data.issuer == settings.OIDC_ISSUER or others.filter(issuer=data.issuer).exists():
        raise Conflict(
            f"The provider with the issuer {data.issuer} is already set up.",
            [FieldError("issuer", "already set up")],
        )
    if pk is None and others.filter(slug=data.slug).exists():
        raise Conflict(
            f"Another provider has the short name {data.slug!r}: choose another.",
            [FieldError("slug", "taken")],
        )


def _summary(provider: IdentityProvider, **extra: object) -> dict[str, object]:
    return {
        "provider": provider.name,
        "slug": provider.slug,
        "issuer": provider.issuer,
        **extra,
    }


def provider_create(*, by: User | None, data: ProviderInput) -> IdentityProvider:
    """Add a provider once its issuer's discovery document checks out."""
    if by is not None:
        require(by, "provider.manage")
    data = _checked(data, creating=True)
    _discovered(data.issuer)
    now = clock.now()
    with transaction.atomic():
        _unique(data, None)
        provider = IdentityProvider.objects.create(
            slug=data.slug,
            name=data.name,
            issuer=data.issuer,
            client_id=data.client_id,
            client_secret_encrypted=crypto.encrypt(data.client_secret),
            scopes=data.scopes,
            roles_claim=data.roles_claim,
            role_map=data.role_map,
            enabled=data.enabled,
            created_at=now,
            updated_at=now,
        )
        audit_record(
            by=by,
            kind="identity_provider_added",
            data=_summary(
                provider,
                client_id=provider.client_id,
                role_map=provider.role_map,
                roles_claim=provider.roles_claim,
                enabled=provider.enabled,
            ),
        )
    return provider


EDITABLE = ("name", "issuer", "client_id", "scopes", "roles_claim", "role_map", "enabled")


def provider_update(
    *, by: User | None, provider: IdentityProvider, data: ProviderInput
) -> IdentityProvider:
    """Change a provider's settings (its short name stays: it is in the registered callback
    address). An empty secret keeps the stored one. The issuer's discovery document is read
    again before anything is saved."""
    if by is not None:
        require(by, "provider.manage")
    data = _checked(ProviderInput(**{**data.__dict__, "slug": provider.slug}), creating=False)
    _discovered(data.issuer)
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
        _unique(data, provider.pk)
        changed = [name for name in EDITABLE if getattr(provider, name) != getattr(data, name)]
        for name in changed:
            setattr(provider, name, getattr(data, name))
        if data.client_secret:
            provider.client_secret_encrypted = crypto.encrypt(data.client_secret)
            changed.append("client_secret")
        if not changed:
            return provider
        provider.updated_at = clock.now()
        provider.save()
        audit_record(
            by=by,
            kind="identity_provider_changed",
            data=_summary(
                provider,
                changed=changed,
                **{name: getattr(provider, name) for name in changed if name != "client_secret"},
            ),
        )
    return provider


def provider_set_enabled(
    *, by: User | None, provider: IdentityProvider, enabled: bool
) -> IdentityProvider:
    """Switch a provider's button and callback on or off. People signed in through it stay
    signed in; their next sign-in needs another way."""
    if by is not None:
        require(by, "provider.manage")
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
        if provider.enabled == enabled:
            return provider
        provider.enabled = enabled
        provider.updated_at = clock.now()
        provider.save(update_fields=["enabled", "updated_at"])
        audit_record(
            by=by,
            kind="identity_provider_enabled" if enabled else "identity_provider_disabled",
            data=_summary(provider),
        )
    return provider


def provider_delete(*, by: User | None, provider: IdentityProvider) -> None:
    """Delete a provider and its secret. The accounts it created stay (an administrator
    deactivates them); their links keep the issuer, so the same issuer added again finds them."""
    if by is not None:
        require(by, "provider.manage")
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
        linked = provider.identities.count()
        summary = _summary(provider, linked_accounts=linked)
        provider.delete()
        audit_record(by=by, kind="identity_provider_deleted", data=summary)
