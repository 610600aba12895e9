"""The public pages write every moment one way: the team's format with the time zone, and
how long ago it was, filled in by the reader's browser since the pages are cached."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from incidentdesk.core import clock
from incidentdesk.incidents.services import incident_post_update
from incidentdesk.statuspage import cache, services
from incidentdesk.statuspage.models import Publication

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 10, 37, 50, tzinfo=dt.UTC)


def _moments(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<time datetime="([^"]+)" data-relative>([^<]+)</time>', html)


@pytest.fixture
def scheduled(member, api_component):
    return services.maintenance_schedule(
        by=member,
        name="Database upgrade",
        scheduled_for=AT + dt.timedelta(days=1),
        scheduled_until=AT + dt.timedelta(days=1, hours=2),
        components=[api_component.pk],
    )


def test_every_public_page_writes_dates_like_the_team_pages(client, member, published, scheduled):
    with clock.frozen(AT):
        incident_post_update(
            by=member, incident=published.ref, status="monitoring", body="A fix is live."
        )
        publication = Publication.objects.get(incident=published)
        pages = {
            "page": client.get("/status/").content.decode(),
            "incident": client.get(f"/status/incidents/{publication.pk}/").content.decode(),
            "maintenance": client.get(f"/status/maintenance/{scheduled.pk}/").content.decode(),
        }
    assert ("2026-03-02T10:37:50+00:00", "2 Mar 2026 10:37 UTC") in _moments(pages["incident"])
    assert ("2026-03-02T10:37:50+00:00", "2 Mar 2026 10:37 UTC") in _moments(pages["page"])
    # the history lists this month's incidents (the real one: the fixture's incident is now)
    pages["history"] = client.get("/status/history/").content.decode()
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC", _moments(pages["history"])[0][1])
    assert "3 Mar 2026 10:37 UTC</time>" in pages["maintenance"]
    assert "3 Mar 2026 12:37 UTC</time>" in pages["maintenance"]
    for name, html in pages.items():
        # no other format is left: no "Mar 2, 10:37" and no bare "UTC" after a time
        assert not re.search(r"\b[A-Z][a-z]{2} \d{1,2}, \d", html), name
        assert "Times are UTC" not in html, name


def test_dates_follow_the_configured_time_zone(client, settings, member, published):
    settings.TIME_ZONE = "Europe/Paris"
    cache.clear()
    with clock.frozen(AT):
        incident_post_update(
            by=member, incident=published.ref, status="monitoring", body="A fix is live."
        )
        publication = Publication.objects.get(incident=published)
        html = client.get(f"/status/incidents/{publication.pk}/").content.decode()
    assert "2 Mar 2026 11:37 CET</time>" in html
