import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is deliberately slow, and nothing here tests the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
