from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from incidentdesk.accounts import rolemap, sso

from .providers import CLIENT_ID, CLIENT_SECRET, NodeProvider

ROLE_MAP = "incident-managers=manager,helpdesk=member,contoso-staff=stakeholder:Contoso"
PEOPLE: dict[str, dict[str, Any]] = {
    "maria": {
        "email": "maria@example.com",
        "email_verified": True,
        "name": "Maria Manager",
        "groups": ["incident-managers", "everyone"],
    },
    "sam": {
        "email": "sam@example.com",
        "email_verified": True,
        "name": "Sam Member",
        "groups": ["helpdesk", "everyone"],
    },
    "olga": {
        "email": "olga@example.com",
        "email_verified": True,
        "name": "Olga Outsider",
        "groups": ["everyone"],
    },
    "carl": {
        "email": "carl@contoso.example",
        "email_verified": True,
        "name": "Carl Contoso",
        "groups": ["contoso-staff"],
    },
}

CONTOSO_PEOPLE: dict[str, dict[str, Any]] = {
    "carla": {
        "email": "carla@contoso.example",
        "email_verified": True,
        "name": "Carla Contoso",
        "groups": ["it-support"],
    },
    "nobody": {"email": "nobody@contoso.example", "email_verified": True, "groups": []},
}


def configure(settings: Any, *, issuer: str, base_url: str) -> None:
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_NAME = "Company SSO"
    settings.OIDC_ROLES_CLAIM = "groups"
    settings.OIDC_SCOPES = "openid email profile groups"
    settings.OIDC_ROLE_MAP = rolemap.parse(ROLE_MAP)
    settings.OIDC_ENABLED = True
    settings.BASE_URL = base_url
    sso._client.cache_clear()


@pytest.fixture
def node_provider(settings, live_server, tmp_path: Path) -> Iterator[NodeProvider]:
    provider = NodeProvider(f"{live_server.url}/login/sso/callback", PEOPLE, tmp_path)
    with provider.running():
        configure(settings, issuer=provider.issuer, base_url=live_server.url)
        yield provider
    sso._client.cache_clear()


@pytest.fixture
def contoso_idp(live_server, settings, tmp_path: Path) -> Iterator[NodeProvider]:
    """The stakeholder organisation's own provider, registered for the `contoso` callback."""
    settings.BASE_URL = live_server.url
    provider = NodeProvider(
        f"{live_server.url}/login/sso/contoso/callback", CONTOSO_PEOPLE, tmp_path
    )
    with provider.running():
        yield provider
    sso._client.cache_clear()
