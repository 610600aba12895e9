"""The public page and its outputs, their caching, and the team's management pages."""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import icalendar
import pytest

from incidentdesk.core import clock
from incidentdesk.incidents.services import incident_post_update, incident_report
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import Component, Maintenance, Publication


def _text(response) -> str:
    return response.content.decode()


def test_page_shows_banner_components_active_incident_and_upcoming_maintenance(
    client, member, published, api_component, web_component
):
    now = clock.now()
    services.maintenance_schedule(
        by=member,
        name="Database upgrade",
        scheduled_for=now + dt.timedelta(days=1),
        scheduled_until=now + dt.timedelta(days=1, hours=1),
        components=[api_component.pk],
    )
    response = client.get("/status/")
    assert response.status_code == 200
    html = _text(response)
    assert "Partial System Outage" in html
    assert "Slow API responses" in html
    assert "A database node is overloaded." in html
    assert "Affects: API (partial outage)" in html
    assert "Database upgrade" in html
    assert "Frontends" in html and "Website" in html
    assert html.count('class="sp-day') == 2 * 90
    # readable without JavaScript: the one script only adds "(5 min ago)" beside each date
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/incidentdesk/relative.js" defer>'
    ]


def test_uptime_bars_show_worst_status_and_outage_minutes_per_day(client, manager):
    start = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    with clock.frozen(start) as frozen:
        api = services.component_create(by=manager, name="API")
        frozen.set(start + dt.timedelta(days=10, hours=12))
        services.component_update(by=manager, component=api.pk, status="major_outage")
        frozen.advance(minutes=45)
        services.component_update(by=manager, component=api.pk, status="operational")
        frozen.set(start + dt.timedelta(days=20))
        html = _text(client.get("/status/"))
    assert 'aria-label="11 Mar 2026: major outage, 45 minutes of outage"' in html
    assert 'aria-label="12 Mar 2026: operational"' in html
    # 45 minutes down in 20 days of history
    assert "99.84 % uptime" in html


def test_permalink_and_history(client, published):
    publication = Publication.objects.get(incident=published)
    page = client.get(f"/status/incidents/{publication.pk}/")
    assert page.status_code == 200
    assert "Slow API responses" in _text(page)
    history = client.get("/status/history/")
    assert f'href="/status/incidents/{publication.pk}/"' in _text(history)
    assert client.get("/status/incidents/999/").status_code == 404
    assert client.get("/status/incidents/abc/").status_code == 404
    assert client.get("/status/history/0/").status_code == 404


def test_history_pages_by_three_months(client, member):
    with clock.frozen(dt.datetime(2026, 1, 15, tzinfo=dt.UTC)) as frozen:
        old = incident_report(by=member, title="An incident in January")
        services.incident_publish(by=member, incident=old.ref)
        frozen.set(dt.datetime(2026, 6, 15, tzinfo=dt.UTC))
        first = _text(client.get("/status/history/"))
        second = _text(client.get("/status/history/2/"))
    assert "June 2026" in first and "April 2026" in first
    assert "An incident in January" not in first
    assert 'href="/status/history/2/"' in first
    assert "March 2026" in second and "January 2026" in second
    assert "An incident in January" in second


def test_feeds_parse_with_feedparser(client, published):
    for url in ("/status/history.atom", "/status/history.rss"):
        response = client.get(url)
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.get("bozo_exception")
        [entry] = feed.entries
        assert entry.title == "Slow API responses"
        assert entry.link.endswith("/")
        assert "A database node is overloaded." in entry.summary


def test_maintenance_calendar_parses_with_icalendar(client, member, api_component):
    start = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)
    with clock.frozen(dt.datetime(2026, 11, 20, tzinfo=dt.UTC)):
        services.maintenance_schedule(
            by=member,
            name="Database upgrade; primary, replicas",
            body="Line one\nLine two " + "long " * 30,
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=[api_component.pk],
        )
        response = client.get("/status/maintenance.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Database upgrade; primary, replicas"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + dt.timedelta(hours=2)
    assert "Line two" in str(event["DESCRIPTION"])
    assert "Affected: API" in str(event["DESCRIPTION"])


def test_badges(client, published, api_component):
    overall = client.get("/status/badge.svg")
    assert overall["Content-Type"] == "image/svg+xml"
    assert "partial system outage" in _text(overall)
    one = client.get(f"/status/components/{api_component.pk}/badge.svg")
    assert "API: partial outage" in _text(one)
    assert client.get("/status/components/999/badge.svg").status_code == 404


# -- caching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/status/", "/api/v2/summary.json", "/status/history.atom"])
def test_conditional_get_is_304_until_something_shown_changes(client, member, published, url):
    first = client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    incident_post_update(
        by=member, incident=published.ref, status="monitoring", body="Fix deployed."
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "Fix deployed." in _text(changed)


def test_a_component_edit_changes_the_cached_page(client, manager, api_component):
    assert "Billing" not in _text(client.get("/status/"))
    services.component_create(by=manager, name="Billing")
    assert "Billing" in _text(client.get("/status/"))


# -- maintenance windows -----------------------------------------------------------------------


def test_the_worker_moves_components_under_maintenance_and_back(member, api_component):
    start = clock.now() + dt.timedelta(hours=1)
    with clock.frozen(clock.now()) as frozen:
        maintenance = services.maintenance_schedule(
            by=member,
            name="Upgrade",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=[api_component.pk],
        )
        assert services.maintenance_tick() == 0
        frozen.set(start + dt.timedelta(minutes=1))
        assert services.maintenance_tick() == 1
        api_component.refresh_from_db()
        assert api_component.status == "under_maintenance"
        assert services.maintenance_tick() == 0
        frozen.set(start + dt.timedelta(hours=2, minutes=1))
        assert services.maintenance_tick() == 1
    api_component.refresh_from_db()
    maintenance.refresh_from_db()
    assert api_component.status == "operational"
    assert maintenance.status == "completed"
    assert [u.status for u in maintenance.updates.order_by("at")] == [
        "scheduled",
        "in_progress",
        "completed",
    ]


def test_a_maintenance_run_reads_only_the_windows_due_a_move(
    member, api_component, django_assert_max_num_queries
):
    """However many windows were held, a run with none due is two indexed queries; each due
    window is moved once."""
    start = clock.now() + dt.timedelta(hours=1)
    with clock.frozen(clock.now()) as frozen:
        windows = [
            services.maintenance_schedule(
                by=member,
                name=f"Upgrade {n}",
                scheduled_for=start,
                scheduled_until=start + dt.timedelta(hours=1),
                components=[api_component.pk],
            )
            for n in range(8)
        ]
        with django_assert_max_num_queries(2):
            assert services.maintenance_tick() == 0
        frozen.set(start + dt.timedelta(minutes=1))
        assert services.maintenance_tick() == 8
        with django_assert_max_num_queries(2):
            assert services.maintenance_tick() == 0
        frozen.set(start + dt.timedelta(hours=1, minutes=1))
        assert services.maintenance_tick() == 8
        with django_assert_max_num_queries(2):
            assert services.maintenance_tick() == 0
    for window in windows:
        assert [u.status for u in window.updates.order_by("at")] == [
            "scheduled",
            "in_progress",
            "completed",
        ]


def test_maintenance_window_must_end_after_it_starts(member):
    from incidentdesk.core.errors import InvalidInput

    now = clock.now()
    with pytest.raises(InvalidInput) as exc:
        services.maintenance_schedule(
            by=member, name="Backwards", scheduled_for=now, scheduled_until=now
        )
    assert exc.value.errors[0].field == "scheduled_until"
    assert not Maintenance.objects.exists()


def test_the_maintenance_task_is_registered_as_periodic(db):
    from incidentdesk.core.periodic import PERIODIC_TASKS

    assert "incidentdesk.statuspage.tasks.maintenance_tick" in PERIODIC_TASKS


# -- management pages ------------------------------------------------------------------------


def test_management_pages_need_a_login(client, published):
    for url in ("/status/manage/", f"/status/manage/incidents/{published.ref}"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_a_stakeholder_may_not_manage_the_status_page(client, stakeholder, published):
    client.force_login(stakeholder)
    assert client.get("/status/manage/").status_code == 403
    response = client.post(f"/status/manage/incidents/{published.ref}", {"action": "unpublish"})
    assert response.status_code in (403, 404)
    assert Publication.objects.get(incident=published).withdrawn_at is None


def test_member_publishes_and_links_components_from_the_management_page(
    client, member, api_component
):
    incident = incident_report(by=member, title="Checkout errors")
    client.force_login(member)
    url = f"/status/manage/incidents/{incident.ref}"
    page = client.get(url)
    assert "Publish on the status page" in _text(page)
    assert "Publish a public summary only" not in _text(page), "summaries are for managers"
    linked = client.post(
        url, {"action": "link", "component": api_component.pk, "status": "partial_outage"}
    )
    assert linked.status_code == 302
    published = client.post(url, {"action": "publish", "title": "Checkout is failing"})
    assert published.status_code == 302
    assert Publication.objects.get(incident=incident).public_title == "Checkout is failing"
    api_component.refresh_from_db()
    assert api_component.status == "partial_outage"


def test_member_may_not_edit_components_on_the_management_page(client, member, api_component):
    client.force_login(member)
    response = client.post(
        "/status/manage/",
        {"action": "component_status", "component": api_component.pk, "status": "major_outage"},
    )
    assert response.status_code == 403
    api_component.refresh_from_db()
    assert api_component.status == "operational"


def test_manager_adds_a_component_and_schedules_maintenance(client, manager):
    client.force_login(manager)
    assert (
        client.post(
            "/status/manage/", {"action": "component_create", "name": "Billing"}
        ).status_code
        == 302
    )
    billing = Component.objects.get(name="Billing")
    response = client.post(
        "/status/manage/",
        {
            "action": "maintenance_schedule",
            "name": "Billing migration",
            "scheduled_for": "2030-01-01T22:00",
            "scheduled_until": "2030-01-01T23:00",
            "components": [billing.pk],
        },
    )
    assert response.status_code == 302
    maintenance = Maintenance.objects.get()
    assert maintenance.scheduled_for == dt.datetime(2030, 1, 1, 22, tzinfo=dt.UTC)
    bad = client.post(
        "/status/manage/", {"action": "maintenance_schedule", "name": "x", "scheduled_for": "soon"}
    )
    assert bad.status_code == 422
    assert "Give a date and time" in _text(bad)


def test_private_incident_management_page_offers_only_a_managers_summary(
    client, manager, private_incident
):
    client.force_login(manager)
    html = _text(client.get(f"/status/manage/incidents/{private_incident.ref}"))
    assert "This incident is private" in html
    assert "Publish on the status page" not in html
    assert "Publish summary" in html
