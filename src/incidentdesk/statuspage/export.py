"""The public status page as bytes at its URLs: the page, history, permalinks, the v2 JSON
documents, the feeds, the maintenance calendar and the badges.

`outputs` renders them with the code the live views use. The static export writes all of
them to a directory laid out like the live site, so that any web server or CDN can serve a
copy; the prepared front (`prepared.py`) writes the part a surge reads after every change."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from incidentdesk.core import clock

from . import public, selectors
from .api_v2 import DOCUMENTS
from .models import Maintenance, MaintenanceStatus

STATIC_FILES = ["incidentdesk/app.css", "incidentdesk/favicon.svg", "incidentdesk/relative.js"]
ICS = "text/calendar; charset=utf-8"
SVG = "image/svg+xml"
# how far back the front's incident permalinks go: the page's own "past incidents" list
RECENT_DAYS = 7


@dataclass(frozen=True)
class Output:
    """One public output: its file under the site's root, its type and bytes; `cors` when
    other sites' pages may read it (the views answer `Access-Control-Allow-Origin: *`)."""

    path: str
    content_type: str
    body: bytes
    cors: bool = False

    @property
    def url(self) -> str:
        """The URL the live site answers it at: a directory's `index.html` is the directory."""
        return "/" + self.path.removesuffix("index.html")


def outputs(*, full: bool = True) -> Iterator[Output]:
    """Every public output (`full`), or the front a surge reads: the page, the first history
    page, the permalinks of open and recent incidents and of current maintenance, the feeds,
    the calendar, the badges and every v2 document. Both come from this one function, so the
    export and the prepared front can never differ."""
    yield Output("status/index.html", public.HTML, public.page_html())
    yield from _history(full)
    if full:
        incidents = selectors.public_incidents()
        maintenances = selectors.maintenances(Maintenance.objects.all())
    else:
        since = clock.now() - dt.timedelta(days=RECENT_DAYS)
        shown = {i.id: i for i in selectors.unresolved_incidents()}
        for incident in selectors.incidents_between(since, clock.now()):
            shown.setdefault(incident.id, incident)
        incidents = list(shown.values())
        current = [
            MaintenanceStatus.SCHEDULED,
            MaintenanceStatus.IN_PROGRESS,
            MaintenanceStatus.VERIFYING,
        ]
        maintenances = selectors.maintenances(Maintenance.objects.filter(status__in=current))
    for incident in incidents:
        yield Output(
            f"status/incidents/{incident.id}/index.html",
            public.HTML,
            public.incident_html(incident),
        )
    for maintenance in maintenances:
        yield Output(
            f"status/maintenance/{maintenance.pk}/index.html",
            public.HTML,
            public.maintenance_html(maintenance),
        )
    for kind in ("atom", "rss"):
        body, content_type = public.feed_bytes(kind)
        yield Output(f"status/history.{kind}", content_type, body)
    yield Output("status/maintenance.ics", ICS, public.maintenance_ics(), cors=True)
    yield Output("status/badge.svg", SVG, public.badge_svg(), cors=True)
    for component in selectors.components():
        yield Output(
            f"status/components/{component.pk}/badge.svg", SVG, public.badge_svg(component), True
        )
    for name in DOCUMENTS:
        yield Output(f"api/v2/{name}", public.JSON, public.json_bytes(name), cors=True)


def _history(full: bool) -> Iterator[Output]:
    page = 1
    while True:
        name = "status/history/index.html" if page == 1 else f"status/history/{page}/index.html"
        yield Output(name, public.HTML, public.history_html(page))
        first = selectors.first_publication_at()
        oldest = public.month_start(clock.now(), page * public.HISTORY_MONTHS_PER_PAGE - 1)
        if not full or first is None or first >= oldest or page >= 1000:
            return
        page += 1


def write_atomically(path: Path, content: bytes) -> None:
    """Write next to the final name and rename into place: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export(target: Path) -> list[str]:
    """Write every public output under `target` and return the relative paths written.
    Files are written next to their final names and renamed into place, so a web server
    serving `target` never shows a half-written file."""
    written: list[str] = []
    with selectors.one_reading():
        for output in outputs(full=True):
            write_atomically(target / output.path, output.body)
            written.append(output.path)
    for name in STATIC_FILES:
        source = Path(settings.BASE_DIR) / "static" / name
        (target / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / "static" / name)
        written.append(f"static/{name}")
    return written
