"""The OpenID Connect conversation with the company's identity provider (Authlib).

Authlib reads the provider's discovery document, sends the person there with `state`, a
`nonce` and a PKCE challenge kept in their session, exchanges the code, and verifies the ID
token: its signature against the provider's published keys (JWKS), its issuer, audience,
expiry and nonce. What the verified claims let the person do is `services.sso_sign_in`'s.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc.errors import JoseError
from requests import RequestException

# What can go wrong between here and the provider, each refused with the same page.
FAILURES: tuple[type[Exception], ...] = (
    AuthlibBaseError,
    JoseError,
    RequestException,
    ValueError,
    KeyError,
)


@cache
def _client() -> DjangoOAuth2App:
    oauth = OAuth()
    client = oauth.register(
        name="company",
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        server_metadata_url=f"{settings.OIDC_ISSUER}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.OIDC_SCOPES, "code_challenge_method": "S256"},
    )
    assert isinstance(client, DjangoOAuth2App)
    return client


def start(request: HttpRequest, callback_url: str) -> HttpResponse:
    """Send the person to the provider's sign-in page."""
    response: HttpResponse = _client().authorize_redirect(request, callback_url)
    return response


def finish(request: HttpRequest) -> dict[str, Any]:
    """The verified claims about the person coming back from the provider.

    Raises one of FAILURES for a refused or forged answer: an unknown `state`, an error from the
    provider, an ID token that is missing, signed by another key, for another client, expired
    or with another nonce."""
    client = _client()
    token = client.authorize_access_token(request)
    claims = token.get("userinfo")
    if not claims:
        raise ValueError("The provider sent no ID token.")
    claims = dict(claims)
    if settings.OIDC_ROLES_CLAIM.split(".")[0] not in claims and client.load_server_metadata().get(
        "userinfo_endpoint"
    ):
        # Some providers put groups in the userinfo answer only.
        extra = dict(client.userinfo(token=token))
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
    return claims
