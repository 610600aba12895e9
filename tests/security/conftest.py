from __future__ import annotations

import pytest

from incidentdesk.statuspage import cache


@pytest.fixture(autouse=True)
def _fast_passwords(settings, request):
    # Argon2 is deliberately slow; only the test that checks the hasher keeps it.
    if "argon2" not in request.node.name:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
