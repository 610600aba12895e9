"""The backup archive: `data.json` (every record, as Django's serializer writes it) and the
attachments' files under `attachments/`, named as they are stored."""

from __future__ import annotations

import re

DATA = "data.json"
ATTACHMENTS = "attachments"
_STORED = re.compile(r"[0-9a-f]{40}")


def is_stored_name(name: str) -> bool:
    """A name the attachment store gives (random hex), never a path."""
    return bool(_STORED.fullmatch(name))
