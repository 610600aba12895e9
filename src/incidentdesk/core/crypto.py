"""Secrets at rest (channel URLs with tokens, webhook signing secrets, personal Apprise URLs):
Fernet with a key derived from SECRET_KEY, so a copied database alone does not reveal them.

Keys derived from SECRET_KEY_FALLBACKS still decrypt, which lets an operator rotate the
secret key; a backup carries the derived keys (sealed with the operator's passphrase, never
the secret key itself) so that a restore can re-encrypt every secret under the target's key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

UNDECRYPTABLE = (
    "cannot decrypt: this secret was stored under another INCIDENTDESK_SECRET_KEY "
    "(a restore without the backup's passphrase, or a changed key); enter it again"
)


def _derive(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"incidentdesk.comms.secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def keys() -> list[str]:
    """This machine's keys, the one that encrypts first: what a backup carries."""
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return list(dict.fromkeys(_derive(k).decode() for k in secret_keys))


def _fernet(extra: list[str] | None = None) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in dict.fromkeys([*keys(), *(extra or [])])])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text; raises ValueError when none of this machine's keys stored it."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(UNDECRYPTABLE) from None


def reencrypt(token: str, extra: list[str]) -> str:
    """`token` encrypted under this machine's first key, read with any of its keys or of
    `extra` (a backup's); raises ValueError when none of them stored it."""
    if not token:
        return ""
    try:
        return _fernet(extra).rotate(token.encode()).decode()
    except InvalidToken:
        raise ValueError(UNDECRYPTABLE) from None
