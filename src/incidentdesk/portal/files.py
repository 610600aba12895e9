"""Attachment files: checked against the limits in settings, stored under a random name in
ATTACHMENTS_DIR (outside the web root), read back only through a permission check."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath

from django.conf import settings

from incidentdesk.core.errors import FieldError, InvalidInput

NAME_MAX = 200


@dataclass(frozen=True)
class Upload:
    """A file as received, before it is checked and stored."""

    filename: str
    data: bytes
    # the size as received, when `data` was not read in full because it is over the limit
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)


@dataclass(frozen=True)
class Stored:
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_as: str


def _human(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def clean_name(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\r\n')
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_MAX - len(ext) - 1] + dot + ext) if dot else name[:NAME_MAX]
    return name or "file"


def content_type_for(filename: str) -> str | None:
    return settings.ATTACHMENT_TYPES.get(PurePath(filename).suffix.lower())


def check(
    uploads: list[Upload], *, existing_count: int, existing_bytes: int, field: str = "attachments"
) -> list[FieldError]:
    """Every limit a set of uploads breaks, each message naming the limit."""
    errors: list[FieldError] = []
    allowed = ", ".join(sorted(settings.ATTACHMENT_TYPES))
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    for upload in uploads:
        name = clean_name(upload.filename)
        if content_type_for(name) is None:
            errors.append(
                FieldError(field, f"{name}: this type of file is not accepted ({allowed}).")
            )
        if upload.size > max_bytes:
            errors.append(
                FieldError(
                    field,
                    f"{name} is {_human(upload.size)}; the limit is {_human(max_bytes)} per file.",
                )
            )
        elif not upload.size:
            errors.append(FieldError(field, f"{name} is empty."))
    max_count = settings.ATTACHMENT_MAX_COUNT
    if existing_count + len(uploads) > max_count:
        errors.append(
            FieldError(
                field,
                f"An incident holds at most {max_count} files "
                f"(it has {existing_count}; you added {len(uploads)}).",
            )
        )
    max_total = settings.ATTACHMENT_MAX_TOTAL_BYTES
    total = existing_bytes + sum(u.size for u in uploads)
    if total > max_total:
        errors.append(
            FieldError(
                field,
                f"An incident's files may total at most {_human(max_total)} "
                f"(these would make {_human(total)}).",
            )
        )
    return errors


def refuse_if_broken(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput("The files were not accepted: " + errors[0].message, errors)


def root() -> Path:
    path = Path(settings.ATTACHMENTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(upload: Upload) -> Stored:
    name = clean_name(upload.filename)
    stored_as = secrets.token_hex(20)
    target = root() / stored_as
    with open(target, "xb") as fh:
        fh.write(upload.data)
    return Stored(
        filename=name,
        content_type=content_type_for(name) or "application/octet-stream",
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        stored_as=stored_as,
    )


def discard(stored: list[Stored]) -> None:
    for item in stored:
        (root() / item.stored_as).unlink(missing_ok=True)


def path_of(stored_as: str) -> Path:
    return root() / PurePath(stored_as).name
