"""The backup archive: `data.json` (every record, as Django's serializer writes it), the
attachments' files under `attachments/`, named as they are stored, and `keys.json`: the keys
that decrypt the stored secrets, sealed with the operator's passphrase (scrypt, then Fernet).

Records are read in one snapshot (`snapshot()`), so an archive taken while people work holds
each row together with every row it refers to."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.db import connection, transaction

DATA = "data.json"
ATTACHMENTS = "attachments"
KEYS = "keys.json"
PASSPHRASE_ENV = "INCIDENTDESK_BACKUP_PASSPHRASE"
PASSPHRASE_MIN = 12
_STORED = re.compile(r"[0-9a-f]{40}")
# scrypt's recommended interactive cost: about 32 MiB and a fraction of a second per attempt
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class PassphraseError(ValueError):
    """No usable passphrase, or not the one the archive was sealed with."""


def is_stored_name(name: str) -> bool:
    """A name the attachment store gives (random hex), never a path."""
    return bool(_STORED.fullmatch(name))


def passphrase(file: str | None) -> str | None:
    """The passphrase from `file` (its first line) or else from INCIDENTDESK_BACKUP_PASSPHRASE;
    None when neither gives one."""
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PassphraseError(
                f"Cannot read the passphrase file {file}: {exc.strerror}."
            ) from None
        value = text[0].strip() if text else ""
        if not value:
            raise PassphraseError(f"The passphrase file {file} is empty.")
    else:
        value = os.environ.get(PASSPHRASE_ENV, "").strip()
        if not value:
            return None
    if len(value) < PASSPHRASE_MIN:
        raise PassphraseError(f"A backup passphrase has at least {PASSPHRASE_MIN} characters.")
    return value


def _fernet(secret: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(payload: dict[str, object], secret: str) -> bytes:
    """`payload` as JSON, encrypted with a key derived from `secret`: the content of KEYS."""
    salt = os.urandom(16)
    token = _fernet(secret, salt, **_SCRYPT).encrypt(json.dumps(payload).encode())
    sealed = {
        "format": 1,
        "kdf": "scrypt",
        **_SCRYPT,
        "salt": base64.b64encode(salt).decode(),
        "sealed": token.decode(),
    }
    return json.dumps(sealed, indent=1).encode()


def unseal(content: bytes, secret: str) -> dict[str, object]:
    """What `seal` sealed; PassphraseError when `secret` is not the passphrase."""
    sealed = json.loads(content)
    if sealed.get("format") != 1 or sealed.get("kdf") != "scrypt":
        raise PassphraseError("The archive's keys are sealed in a format this version cannot read.")
    salt = base64.b64decode(sealed["salt"])
    fernet = _fernet(secret, salt, n=sealed["n"], r=sealed["r"], p=sealed["p"])
    try:
        payload = json.loads(fernet.decrypt(sealed["sealed"].encode()))
    except InvalidToken:
        raise PassphraseError("That is not the passphrase this backup was written with.") from None
    if not isinstance(payload, dict):
        raise PassphraseError("The archive's keys are not readable.")
    return payload


@contextmanager
def snapshot() -> Iterator[None]:
    """Every read inside sees the database as it was at the first one, while others keep
    writing: one REPEATABLE READ, READ ONLY transaction on PostgreSQL; one deferred read
    transaction on SQLite (in WAL mode a reader keeps its snapshot and blocks no writer;
    Django's atomic() would take the write lock, as the settings ask for IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    if connection.vendor != "sqlite":
        raise RuntimeError(f"No consistent snapshot for {connection.vendor}.")
    if not connection.get_autocommit() or connection.in_atomic_block:
        raise RuntimeError("A snapshot starts its own transaction: call it outside one.")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


def progress(text: str) -> None:
    """One line of progress on stderr, rewritten in place; only on a terminal."""
    import sys

    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()
