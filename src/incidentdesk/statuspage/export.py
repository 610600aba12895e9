"""Writing the public status page as static files: the page, history, permalinks, the v2
JSON documents, the feeds, the maintenance calendar and the badges, laid out under the same
paths as the live site, so that any web server or CDN can serve a copy."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from incidentdesk.core import clock

from . import public, selectors
from .api_v2 import DOCUMENTS
from .models import Maintenance

STATIC_FILES = ["incidentdesk/app.css", "incidentdesk/favicon.svg", "incidentdesk/relative.js"]


def export(target: Path) -> list[str]:
    """Write every public output under `target` and return the relative paths written.
    Files are written next to their final names and renamed into place, so a web server
    serving `target` never shows a half-written file."""
    written: list[str] = []

    def put(relative: str, content: bytes) -> None:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        written.append(relative)

    put("status/index.html", public.page_html())
    page = 1
    while True:
        put(
            "status/history/index.html" if page == 1 else f"status/history/{page}/index.html",
            public.history_html(page),
        )
        first = selectors.first_publication_at()
        oldest = public.month_start(clock.now(), page * public.HISTORY_MONTHS_PER_PAGE - 1)
        if first is None or first >= oldest or page >= 1000:
            break
        page += 1
    for incident in selectors.public_incidents():
        put(f"status/incidents/{incident.id}/index.html", public.incident_html(incident))
    for maintenance in selectors.maintenances(Maintenance.objects.all()):
        put(f"status/maintenance/{maintenance.pk}/index.html", public.maintenance_html(maintenance))
    put("status/history.atom", public.feed_bytes("atom")[0])
    put("status/history.rss", public.feed_bytes("rss")[0])
    put("status/maintenance.ics", public.maintenance_ics())
    put("status/badge.svg", public.badge_svg())
    for component in selectors.components():
        put(f"status/components/{component.pk}/badge.svg", public.badge_svg(component))
    for name in DOCUMENTS:
        put(f"api/v2/{name}", public.json_bytes(name))
    for name in STATIC_FILES:
        source = Path(settings.BASE_DIR) / "static" / name
        (target / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / "static" / name)
        written.append(f"static/{name}")
    return written
