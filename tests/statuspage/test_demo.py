"""The demo's status page: components, an active incident, upcoming maintenance, 90 days."""

from __future__ import annotations

from incidentdesk.demo.loader import load
from incidentdesk.statuspage import selectors
from incidentdesk.statuspage.demo import load_statuspage_demo
from incidentdesk.statuspage.models import Component, Maintenance


def test_demo_status_page_has_everything_and_loads_once(client, db):
    assert load() is True
    components = Component.objects.count()
    assert components == 6
    [active] = selectors.unresolved_incidents()
    assert active.name == "Point-of-sale sync failing in all stores"
    assert active.impact == "critical"
    [upcoming] = selectors.upcoming_maintenances()
    assert upcoming.name == "Checkout platform upgrade"
    # planned work is the team's Maintenance incident, whose timeline has the window
    assert upcoming.incident is not None and upcoming.incident.type == "maintenance"
    assert upcoming.incident.timeline.filter(kind="maintenance_scheduled").exists()
    views = selectors.uptime_views(selectors.components())
    assert all(view.days[0].known for view in views.values()), "90 days of history"
    assert any(day.status != "operational" for view in views.values() for day in view.days[:-1])
    html = client.get("/status/").content.decode()
    assert "Major Service Outage" in html
    assert "Checkout platform upgrade" in html

    load_statuspage_demo({})
    assert Component.objects.count() == components
    assert Maintenance.objects.count() == 2
