"""Demo data for the status page: components in groups, 90 days of history with published
incidents and a completed maintenance, the active P1 linked to its component and an upcoming
maintenance window. Made through the services with the clock set back."""

from __future__ import annotations

import datetime as dt

from incidentdesk.accounts.models import User
from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident

from . import services
from .models import Component, Publication

GROUPS = {
    "Stores": [
        ("Point-of-sale sync", "Tills sending sales to head office"),
        ("Receipts and printing", "Receipt layouts and store printers"),
    ],
    "Online": [
        ("Website", "The public web shop"),
        ("Checkout", "Carts, payment and order confirmation"),
        ("Public API", "The partner and integrations API"),
    ],
    "": [("Reporting", "Sales and stock reports")],
}

# (days ago, component, component status, title, type, severity, impact, hours, posts)
PAST = [
    (
        78,
        "Reporting",
        "degraded_performance",
        "Sales reports load slowly",
        ("performance", "P3", "few"),
        3,
        ["Reports take over a minute to load; we are investigating.", "An index was added."],
    ),
    (
        55,
        "Checkout",
        "partial_outage",
        "Some card payments declined",
        ("functionality", "P2", "some"),
        2,
        ["Card payments from one bank are declined.", "The payment provider fixed a routing rule."],
    ),
    (
        33,
        "Public API",
        "major_outage",
        "Public API unavailable",
        ("functionality", "P2", "some"),
        1,
        [
            "The Public API returns errors for every request.",
            "A failed deployment was rolled back.",
        ],
    ),
    (
        9,
        "Website",
        "degraded_performance",
        "Product pages load slowly",
        ("performance", "P3", "few"),
        4,
        ["Product pages are slow in the evening.", "The image cache was resized."],
    ),
]


def load_statuspage_demo(people: dict[str, User]) -> None:
    """Load once: nothing happens when components exist already."""
    if Component.objects.exists():
        return
    manager = people["manager@spacewise.example"]
    alex = people["alex@spacewise.example"]
    now = clock.now().replace(second=0, microsecond=0)
    with clock.frozen(now - dt.timedelta(days=91)):
        components = _components(manager)
    for days, name, status, title, category, hours, posts in PAST:
        with clock.frozen(now - dt.timedelta(days=days, hours=-10)) as c:
            _past_incident(alex, components[name], status, title, category, hours, posts, c)
    _past_maintenance(alex, components, now)
    pos = Incident.objects.filter(title="Point-of-sale sync failing in all stores").first()
    if pos is not None:
        with clock.frozen(pos.reported_at + dt.timedelta(minutes=12)):
            services.incident_link_component(
                by=alex,
                incident=pos.ref,
                component=components["Point-of-sale sync"].pk,
                status="major_outage",
            )
            if not Publication.objects.filter(incident=pos).exists():
                services.incident_publish(by=alex, incident=pos.ref)
    start = (now + dt.timedelta(days=3)).replace(hour=22, minute=0)
    with clock.frozen(now - dt.timedelta(hours=2)) as c:
        # planned work is a Maintenance incident of the team's, which owns the window
        upgrade = s.incident_report(
            by=alex,
            title="Checkout platform upgrade",
            description="Upgrade the checkout platform to the vendor's supported release.",
        )
        c.advance(minutes=5)
        s.incident_acknowledge(by=alex, incident=upgrade)
        s.incident_categorize(
            by=alex,
            incident=upgrade,
            type="maintenance",
            severity="P3",
            impact="most",
            reason="Planned work in a quiet hour.",
        )
        c.advance(minutes=50)
        services.maintenance_schedule(
            by=alex,
            name="Checkout platform upgrade",
            body="Checkout may be unavailable for up to 30 minutes during the window.",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=1, minutes=30),
            components=[components["Website"].pk, components["Checkout"].pk],
            incident=upgrade.ref,
        )


def _components(manager: User) -> dict[str, Component]:
    made: dict[str, Component] = {}
    for group, items in GROUPS.items():
        if group:
            services.group_create(by=manager, name=group)
        for name, description in items:
            made[name] = services.component_create(
                by=manager, name=name, description=description, group=group or None
            )
    return made


def _past_incident(
    by: User,
    component: Component,
    status: str,
    title: str,
    category: tuple[str, str, str],
    hours: float,
    posts: list[str],
    c: clock.Clock,
) -> None:
    incident = s.incident_report(by=by, title=title)
    type_, severity, impact = category
    c.advance(minutes=5)
    s.incident_categorize(
        by=by, incident=incident, type=type_, severity=severity, impact=impact, reason="Demo."
    )
    services.incident_link_component(
        by=by, incident=incident.ref, component=component.pk, status=status
    )
    services.incident_publish(by=by, incident=incident.ref)
    s.incident_post_update(by=by, incident=incident, status="investigating", body=posts[0])
    c.advance(hours=hours)
    s.incident_resolve(by=by, incident=incident, summary=posts[1])
    s.incident_post_update(by=by, incident=incident, status="resolved", body=posts[1])


def _past_maintenance(by: User, components: dict[str, Component], now: dt.datetime) -> None:
    start = (now - dt.timedelta(days=20)).replace(hour=21, minute=0)
    with clock.frozen(start - dt.timedelta(days=5)) as c:
        services.maintenance_schedule(
            by=by,
            name="Store network maintenance",
            body="Tills queue their sales and send them when the network is back.",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=[components["Point-of-sale sync"].pk],
        )
        c.set(start + dt.timedelta(minutes=1))
        services.maintenance_tick()
        c.set(start + dt.timedelta(hours=2, minutes=1))
        services.maintenance_tick()
