"""The prepared front: the public outputs a surge reads, kept as files under the data dir.

After every change the public page shows (the transaction that bumps the page's version
commits), the front is rendered again by the export's own `outputs` into
`STATUSPAGE_PUBLIC_DIR` (default `<data dir>/public`), laid out like the live site, each file
beside a gzip (`.gz`) and a brotli (`.br`) copy. `manifest.json` names the URLs it holds, with
each file's type and digest and the page's version: `front.PreparedFront` serves exactly those
URLs before Django is called, and a reverse proxy can serve the directory itself.

Files are renamed into place, compressed copies before the file itself and the manifest last;
one preparation runs at a time on a machine (a lock file), and each reads the page's version
inside that lock, so the last one to finish has read the newest committed state."""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import brotli
from django.conf import settings

from incidentdesk.core import clock

from . import selectors
from .export import Output, outputs, write_atomically

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ENCODINGS = {"gzip": ".gz", "br": ".br"}
# smaller than this, compression saves less than its header costs
COMPRESS_MIN = 256
# brotli's quality 11 costs ten times 9 for a few percent: the front is rendered on each change
BROTLI_QUALITY = 9


def public_dir() -> Path:
    return Path(settings.STATUSPAGE_PUBLIC_DIR)


def read_manifest(root: Path | None = None) -> dict[str, Any] | None:
    path = (root or public_dir()) / MANIFEST
    try:
        return dict(json.loads(path.read_bytes()))
    except (OSError, ValueError):
        return None


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp() -> tuple[str, dt.datetime, str]:
    """The page's version, its Last-Modified and today's date (the uptime bars move on at
    midnight): the name of what the front shows."""
    version, changed_at = selectors.page_state()
    today = clock.now().date()
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    return version, max(changed_at, midnight), today.isoformat()


def is_current(manifest: dict[str, Any] | None) -> bool:
    if manifest is None:
        return False
    version, _, today = _stamp()
    return bool(manifest.get("version") == version and manifest.get("date") == today)


def compressed(body: bytes) -> dict[str, bytes]:
    """The gzip and brotli forms of `body` that are smaller than it."""
    if len(body) < COMPRESS_MIN:
        return {}
    forms = {
        "gzip": gzip.compress(body, compresslevel=9, mtime=0),
        "br": brotli.compress(body, quality=BROTLI_QUALITY),
    }
    return {name: data for name, data in forms.items() if len(data) < len(body)}


def prepare(*, root: Path | None = None, force: bool = False) -> bool:
    """Render the front into `root` unless it already shows the page's current version and
    date (or `force`). Returns whether it rendered. Files whose bytes did not change are left
    as they are; files of outputs no longer public (a withdrawn incident) are removed."""
    root = root or public_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        old = read_manifest(root)
        if not force and is_current(old):
            return False
        # no transaction around the render: on SQLite it would hold the writers' lock for it.
        # A change committed meanwhile has bumped the version past the one read here, so its
        # own preparation (waiting for this lock) renders again.
        with selectors.one_reading():
            version, modified, today = _stamp()
            files = {out.url: _write(root, out, old) for out in outputs(full=False)}
        manifest = {
            "version": version,
            "date": today,
            "modified": format_datetime(modified.astimezone(dt.UTC), usegmt=True),
            "files": files,
        }
        write_atomically(root / MANIFEST, json.dumps(manifest, indent=1).encode())
        for url, entry in (old or {}).get("files", {}).items():
            if url not in files:
                _remove(root, entry)
    return True


def _write(root: Path, out: Output, old: dict[str, Any] | None) -> dict[str, Any]:
    digest = hashlib.blake2b(out.body, digest_size=12).hexdigest()
    before = (old or {}).get("files", {}).get(out.url)
    if before and before["sha"] == digest and (root / out.path).is_file():
        return dict(before)
    forms = compressed(out.body)
    for name, data in forms.items():
        write_atomically(root / (out.path + ENCODINGS[name]), data)
    for name, suffix in ENCODINGS.items():
        if name not in forms:
            (root / (out.path + suffix)).unlink(missing_ok=True)
    write_atomically(root / out.path, out.body)
    return {
        "file": out.path,
        "type": out.content_type,
        "sha": digest,
        "cors": out.cors,
        "encodings": sorted(forms),
    }


def _remove(root: Path, entry: dict[str, Any]) -> None:
    for suffix in ("", *ENCODINGS.values()):
        (root / (entry["file"] + suffix)).unlink(missing_ok=True)


def refresh() -> bool:
    """Bring this machine's front up to date, where it keeps one (`serve` prepares it at
    start, `init` and `restore` too): after a public change commits, and periodically for a
    change made on another machine or a day that ended. Returns whether it rendered."""
    if not settings.STATUSPAGE_PREPARE or not (public_dir() / MANIFEST).exists():
        return False
    return prepare()


def prepare_for_serve(**_: Any) -> None:
    """`serve` is starting: the front its web processes serve is never missing or stale."""
    if settings.STATUSPAGE_PREPARE:
        prepare()
