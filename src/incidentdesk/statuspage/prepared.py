"""The prepared front: the public outputs a surge reads, kept as files under the data dir.

After every change the public page shows (the transaction that bumps the page's version
commits), the front is rendered again by the export's own `outputs` into
`STATUSPAGE_PUBLIC_DIR` (default `<data dir>/public`), laid out like the live site, each file
beside a gzip (`.gz`) and a brotli (`.br`) copy. `manifest.json` names the URLs it holds, with
each file's type and digest and the page's version: `front.PreparedFront` serves exactly those
URLs before Django is called, and a reverse proxy can serve the directory itself.

Files are renamed into place, compressed copies before the file itself and the manifest last;
one preparation runs at a time on a machine (a lock file), and each reads the page's version
inside that lock, so the last one to finish has read the newest committed state. The manifest
carries the page's epoch (its count of changes): a preparation that read an older state than
the one already prepared writes nothing.

A change is rendered off the path of the request or task that made it: `changed` hands the work
to the process's `Renderer`, one thread that renders once per burst of changes and again only
if one came during its render, so it always ends with the newest. Until a preparation's
manifest is in place, the previous bytes are served."""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import brotli
from django.conf import settings
from django.db import connections

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


def _stamp() -> tuple[int, str, dt.datetime, str]:
    """The page's epoch and version, its Last-Modified and today's date (the uptime bars move
    on at midnight): the name of what the front shows."""
    epoch, version, changed_at = selectors.page_epoch()
    today = clock.now().date()
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    return epoch, version, max(changed_at, midnight), today.isoformat()


def is_current(manifest: dict[str, Any] | None) -> bool:
    if manifest is None:
        return False
    _, version, _, today = _stamp()
    return bool(manifest.get("version") == version and manifest.get("date") == today)


def _is_older(epoch: int, today: str, manifest: dict[str, Any] | None) -> bool:
    """Whether a reading of `epoch` on `today` is older than what `manifest` shows. On
    another day it is not: the uptime bars are the day's (and a clock set back must not stop
    the front)."""
    if manifest is None or manifest.get("date") != today:
        return False
    return epoch < int(manifest.get("epoch", 0))


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
    as they are; files of outputs no longer public (a withdrawn incident) are removed. Never
    replaces a front made from a newer state than the one it reads."""
    root = root or public_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        old = read_manifest(root)
        if not force and is_current(old):
            return False
        # no transaction around the render: on SQLite it would hold the writers' lock for it.
        # A change committed meanwhile has bumped the version past the one read here, so its
        # own preparation (waiting for this lock) renders again.
        # one moment for every output: the page and the permalinks read the same week once
        with selectors.one_reading(), clock.frozen(clock.now()):
            epoch, version, modified, today = _stamp()
            if _is_older(epoch, today, old):
                return False
            files = {out.url: _write(root, out, old) for out in outputs(full=False)}
        manifest = {
            "epoch": epoch,
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


class Renderer:
    """This process's renderer of the front: one thread at most, started by a change and gone
    when no change is waiting. Changes that come while it renders are rendered together once
    it is done, so a burst of changes costs two renders, the last of which shows the newest.
    The thread is not a daemon: a process that exits waits for the render in hand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = False
        self._thread: threading.Thread | None = None
        self.renders = 0

    def request(self) -> None:
        with self._lock:
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="front-renderer")
                self._thread.start()

    def _run(self) -> None:
        try:
            while self._take():
                try:
                    if refresh():
                        self.renders += 1
                except Exception:
                    # the previous front stays served; the periodic refresh tries again
                    log.exception("the public front could not be prepared")
        except BaseException:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
            raise
        finally:
            connections.close_all()  # this thread's own

    def _take(self) -> bool:
        """Whether a change waits; if none does, this thread is done (decided under the lock
        `request` takes, so a change is never left with no thread to render it)."""
        with self._lock:
            if self._pending:
                self._pending = False
                return True
            self._thread = None
            return False

    def wait(self, timeout: float | None = None) -> None:
        """Return once the renders asked for so far are done (tests, a process stopping)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


renderer = Renderer()


def changed() -> None:
    """A change the public page shows has committed (`page_bump`'s on-commit hook): the
    renderer prepares the front, unless STATUSPAGE_RENDER_INLINE asks for it before this
    returns (the in-process tests, whose uncommitted data another thread cannot read)."""
    if not settings.STATUSPAGE_PREPARE or not (public_dir() / MANIFEST).exists():
        return
    if getattr(settings, "STATUSPAGE_RENDER_INLINE", False):
        refresh()
    else:
        renderer.request()


def prepare_for_serve(**_: Any) -> None:
    """`serve` is starting: the front its web processes serve is never missing or stale."""
    if settings.STATUSPAGE_PREPARE:
        prepare()
