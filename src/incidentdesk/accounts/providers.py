"""The identity providers people may sign in with: the environment's (`INCIDENTDESK_OIDC_*`,
read-only in the pages) and the ones administrators added (`IdentityProvider` rows).

Each is seen by the sign-in code as one `ProviderConfig`: what Authlib needs to talk to it and
what `services.sso_sign_in` needs to decide who its people are here. Reads only; changes are
`provider_services`'s."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.urls import reverse

from incidentdesk.core import crypto
from incidentdesk.core.errors import NotFound

from . import rolemap
from .models import IdentityProvider, User
from .permissions import require

# the environment's provider has no slug: its addresses are /login/sso/ and /login/sso/callback
ENVIRONMENT = ""


@dataclass(frozen=True)
class ProviderConfig:
    slug: str  # ENVIRONMENT for the environment's provider
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    roles_claim: str
    role_map: tuple[tuple[str, rolemap.Grant], ...]
    pk: int | None = None

    @property
    def start_path(self) -> str:
        if self.slug == ENVIRONMENT:
            return reverse("accounts:sso_start")
        return reverse("accounts:provider_sso_start", args=[self.slug])

    @property
    def callback_path(self) -> str:
        if self.slug == ENVIRONMENT:
            return reverse("accounts:sso_callback")
        return reverse("accounts:provider_sso_callback", args=[self.slug])

    @property
    def callback_url(self) -> str:
        """The redirect URI to register at the provider."""
        return f"{settings.BASE_URL}{self.callback_path}"


def environment_provider() -> ProviderConfig | None:
    if not settings.OIDC_ENABLED:
        return None
    return ProviderConfig(
        slug=ENVIRONMENT,
        name=settings.OIDC_NAME,
        issuer=settings.OIDC_ISSUER,
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        scopes=settings.OIDC_SCOPES,
        roles_claim=settings.OIDC_ROLES_CLAIM,
        role_map=settings.OIDC_ROLE_MAP,
    )


def config_of(row: IdentityProvider) -> ProviderConfig:
    """Raises ValueError when the secret cannot be decrypted (crypto.UNDECRYPTABLE) or the
    stored role map no longer reads."""
    return ProviderConfig(
        slug=row.slug,
        name=row.name,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=crypto.decrypt(row.client_secret_encrypted),
        scopes=row.scopes,
        roles_claim=row.roles_claim,
        role_map=rolemap.parse(row.role_map),
        pk=row.pk,
    )


def sign_in_buttons() -> list[tuple[str, str]]:
    """(label, address) of each "Sign in with <name>" button: the environment's provider
    first, then the enabled added ones by name."""
    buttons = []
    env = environment_provider()
    if env is not None:
        buttons.append((env.name, env.start_path))
    for slug, name in IdentityProvider.objects.filter(enabled=True).values_list("slug", "name"):
        buttons.append((name, reverse("accounts:provider_sso_start", args=[slug])))
    return buttons


def enabled_provider(slug: str) -> ProviderConfig | None:
    """The provider a sign-in goes through: the environment's (slug ENVIRONMENT) or an enabled
    added one; None when there is no such provider (or it is switched off)."""
    if slug == ENVIRONMENT:
        return environment_provider()
    row = IdentityProvider.objects.filter(slug=slug, enabled=True).first()
    return config_of(row) if row is not None else None


def providers_for(*, by: User) -> list[IdentityProvider]:
    """The added providers, by name, each with `linked` (the accounts that signed in with it):
    for those who manage them."""
    require(by, "provider.manage")
    return list(IdentityProvider.objects.annotate(linked=Count("identities")))


def provider_get_for(*, by: User, provider_id: int) -> IdentityProvider:
    require(by, "provider.manage")
    provider = IdentityProvider.objects.filter(pk=provider_id).first()
    if provider is None:
        raise NotFound(f"No identity provider {provider_id}.")
    return provider
