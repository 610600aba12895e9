"""The OpenID Connect conversation with the company's identity provider (Authlib).

Authlib reads the provider's discovery document, sends the person there with `state`, a
`nonce` and a PKCE challenge kept in their session, exchanges the code, and verifies the ID
token: its signature against the provider's published keys (JWKS), its issuer, audience,
expiry and nonce. What the verified claims let the person do is `services.sso_sign_in`'s.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.http import HttpRequest, HttpResponse
from joserfc.errors import JoseError
from requests import RequestException

from .providers import ProviderConfig

# What can go wrong between here and the provider, each refused with the same page.
FAILURES: tuple[type[Exception], ...] = (
    AuthlibBaseError,
    JoseError,
    RequestException,
    ValueError,
    KeyError,
)


@lru_cache(maxsize=64)
def _client(provider: ProviderConfig) -> DjangoOAuth2App:
    """One Authlib client per provider's settings (an edited provider gets a new one). Its
    name keys the `state` Authlib keeps in the session: a state one provider's sign-in started
    is unknown at another's callback."""
    oauth = OAuth()
    client = oauth.register(
        name=f"provider-{provider.slug}" if provider.slug else "company",
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256"},
    )
    assert isinstance(client, DjangoOAuth2App)
    return client


def start(request: HttpRequest, provider: ProviderConfig) -> HttpResponse:
    """Send the person to the provider's sign-in page."""
    response: HttpResponse = _client(provider).authorize_redirect(request, provider.callback_url)
    return response


def finish(request: HttpRequest, provider: ProviderConfig) -> dict[str, Any]:
    """The verified claims about the person coming back from the provider.

    Raises one of FAILURES for a refused or forged answer: an unknown `state`, an error from the
    provider, an ID token that is missing, signed by another key, for another client, expired
    or with another nonce."""
    client = _client(provider)
    token = client.authorize_access_token(request)
    claims = token.get("userinfo")
    if not claims:
        raise ValueError("The provider sent no ID token.")
    claims = dict(claims)
    if provider.roles_claim.split(".")[0] not in claims and client.load_server_metadata().get(
        "userinfo_endpoint"
    ):
        # Some providers put groups in the userinfo answer only.
        extra = dict(client.userinfo(token=token))
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
    return claims


class DiscoveryFailed(ValueError):
    """The issuer's discovery document could not be read, or is not one: why, for the admin."""


# what a discovery document must name for the sign-in to work
DISCOVERY_NEEDS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
DISCOVERY_TIMEOUT = 10
DISCOVERY_MAX_BYTES = 512 * 1024


def discover(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document, checked: it is JSON, names this very issuer and the
    endpoints a sign-in uses. Raises DiscoveryFailed saying what is wrong."""
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        with requests.get(
            url, timeout=DISCOVERY_TIMEOUT, allow_redirects=False, stream=True
        ) as answer:
            if answer.status_code != 200:
                raise DiscoveryFailed(f"{url} answered {answer.status_code}, not the document.")
            body = answer.raw.read(DISCOVERY_MAX_BYTES + 1, decode_content=True)
    except RequestException as exc:
        raise DiscoveryFailed(f"{url} could not be reached ({type(exc).__name__}).") from None
    if len(body) > DISCOVERY_MAX_BYTES:
        raise DiscoveryFailed(f"{url} answered with more than 512 KiB: not a discovery document.")
    try:
        document = json.loads(body)
    except ValueError:
        raise DiscoveryFailed(f"{url} did not answer with JSON.") from None
    if not isinstance(document, dict):
        raise DiscoveryFailed(f"{url} did not answer with a JSON object.")
    named = str(document.get("issuer", "")).rstrip("/")
    if named != issuer:
        raise DiscoveryFailed(
            f"The document at {url} names the issuer {named[:200]!r}, not {issuer!r}."
        )
    missing = [key for key in DISCOVERY_NEEDS if not document.get(key)]
    if missing:
        raise DiscoveryFailed(f"The document at {url} does not name {', '.join(missing)}.")
    return document
