"""An incident with thousands of system entries (one delivery per recipient of a public update)
costs its page, its live poll, the API timeline and the insights what a short one costs."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidentdesk.core import clock
from incidentdesk.incidents import services as s
from incidentdesk.incidents import timeline
from incidentdesk.incidents.kinds import entries_for
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.timeline_window import PAGE_SIZE
from incidentdesk.reviews.insights import figures

pytestmark = pytest.mark.django_db

MANY = 5_000


def add_deliveries(incident: Incident, n: int, *, failed: int = 0) -> None:
    """`n` delivery outcomes, as the communication plan writes them, in bulk."""
    items = [
        (
            "delivery_failed" if i < failed else "delivered",
            {
                "trigger": "public_update",
                "audience": "stakeholders",
                "channel": "email",
                "recipient": f"reader{i}@northwind.test",
                "attempts": 1,
            },
        )
        for i in range(n)
    ]
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        timeline.append_generated(locked, items)
        locked.save(
            update_fields=["timeline_seq", "timeline_head", "updated_at", *timeline.DELIVERY_FIELDS]
        )
    incident.refresh_from_db()


def worked(by, reporter, title: str) -> Incident:
    """An incident with a few entries of people: acknowledged, a note, a status, an update."""
    incident = s.incident_report(by=reporter, title=title)
    s.incident_acknowledge(by=by, incident=incident)
    s.incident_categorize(
        by=by,
        incident=incident,
        type="functionality",
        severity="P3",
        impact="few",
        reason="One shop",
    )
    s.incident_add_note(by=by, incident=incident, body="Looking at the load balancer")
    s.incident_set_status(by=by, incident=incident, status="identified")
    s.incident_post_update(
        by=by, incident=incident, status="identified", body="We found the cause."
    )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def short(member, stakeholder):
    incident = worked(member, stakeholder, "Search is slow")
    add_deliveries(incident, 4, failed=1)
    return incident


@pytest.fixture
def long(member, stakeholder):
    incident = worked(member, stakeholder, "Checkout fails")
    add_deliveries(incident, MANY, failed=2)
    return incident


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def timeline_items(html: str) -> list[str]:
    """The entries the timeline panel lists (its "nothing here" line aside)."""
    start = html.index('id="timeline-entries"')
    block = html[start : html.index("</ol>", start)]
    return [li for li in re.findall(r"<li>(.*?)</li>", block, re.S)]


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_page_lists_peoples_entries_and_sums_up_thousands_of_deliveries(client, member, long):
    r = client_for(member).get(f"/incidents/{long.ref}")
    html = r.content.decode()
    assert r.status_code == 200
    assert "5,000 deliveries: 4,998 sent, 2 failed" in html
    assert f'href="/incidents/{long.ref}/communications">See the deliveries</a>' in html
    items = timeline_items(html)
    assert len(items) <= PAGE_SIZE
    assert "Wrote an internal note" in html and "Status triaged → identified" in html
    assert not any("reader1@northwind.test" in item for item in items)
    assert len(r.content) < 80_000


def test_every_delivery_is_one_page_away_by_kind_with_an_older_link(client, member, long):
    c = client_for(member)
    html = c.get(f"/incidents/{long.ref}", {"kind": "delivered"}).content.decode()
    first = timeline_items(html)
    assert len(first) == PAGE_SIZE
    assert "reader4999@northwind.test" in first[0]  # newest first
    older = re.search(r'href="(/incidents/INC-\d+\?[^"]+)#timeline" rel="next">Older', html)
    assert older is not None
    second = timeline_items(c.get(older.group(1).replace("&amp;", "&")).content.decode())
    assert len(second) == PAGE_SIZE and not set(second) & set(first)
    assert f"reader{4999 - PAGE_SIZE}@northwind.test" in second[0]
    stale = c.get(f"/incidents/{long.ref}", {"kind": "delivered", "before": "not-a-cursor"})
    assert stale.status_code == 200
    assert "That page link is out of date" in stale.content.decode()


def test_page_queries_do_not_grow_with_the_timeline(
    client, member, short, long, django_assert_max_num_queries
):
    c = client_for(member)
    c.get(f"/incidents/{short.ref}")
    small = queries(lambda: c.get(f"/incidents/{short.ref}"))
    with django_assert_max_num_queries(small):
        c.get(f"/incidents/{long.ref}")


def test_poll_sends_only_the_entries_written_since_the_last_one_seen(client, member, long):
    c = client_for(member)
    live = f"/incidents/{long.ref}/live"
    seen = long.timeline_seq
    assert c.get(live, {"v": long.version, "since": seen}).status_code == 204
    s.incident_add_note(by=member, incident=long, body="Rolled back release 42")
    add_deliveries(long, 3)
    r = c.get(live, {"v": long.version, "since": seen})
    html = r.content.decode()
    assert r.status_code == 200
    new = re.search(r'hx-swap-oob="afterbegin:#timeline-entries">(.*?)</ol>', html, re.S)
    assert new is not None
    assert re.findall(r"<li>", new.group(1)) == ["<li>"]  # the note; deliveries are summed up
    assert "Wrote an internal note" in new.group(1)
    assert "5,003 deliveries: 5,001 sent, 2 failed" in html
    assert "Rolled back release 42" in html  # the notes panel
    assert "Status triaged → identified" not in html  # no older entry is sent again
    long.refresh_from_db()
    assert f"since={long.timeline_seq}" in html
    everything = c.get(live, {"v": long.version, "since": seen, "kind": "all"}).content.decode()
    added = re.search(r'afterbegin:#timeline-entries">(.*?)</ol>', everything, re.S)
    assert added is not None and len(re.findall(r"<li>", added.group(1))) == 4
    assert len(r.content) < 40_000


def test_poll_after_a_fan_out_larger_than_a_page_sends_one_fresh_window(client, member, long):
    c = client_for(member)
    seen = long.timeline_seq
    add_deliveries(long, PAGE_SIZE + 5)
    html = c.get(
        f"/incidents/{long.ref}/live", {"v": long.version, "since": seen, "kind": "all"}
    ).content.decode()
    assert "afterbegin:#timeline-entries" not in html
    assert '<section id="timeline" class="panel" aria-labelledby="timeline-h" hx-swap-oob' in html
    assert len(timeline_items(html)) == PAGE_SIZE


def test_poll_queries_do_not_grow_with_the_timeline(
    client, member, short, long, django_assert_max_num_queries
):
    c = client_for(member)

    def poll(incident: Incident) -> None:
        c.get(f"/incidents/{incident.ref}/live", {"v": incident.version - 1, "since": 1})

    poll(short)
    small = queries(lambda: poll(short))
    with django_assert_max_num_queries(small):
        poll(long)


def api(client, token, ref, **params):
    return client.get(
        f"/api/v1/incidents/{ref}/timeline", params, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def walk(client, token, ref, **params) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        body = api(client, token, ref, **params, **({"cursor": cursor} if cursor else {})).json()
        items += body["items"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return items
        assert pages < 100


def test_api_pages_walk_every_entry_exactly_once_by_kind(client, member, long, token_for):
    token = token_for(member)
    first = api(client, token, long.ref).json()
    assert len(first["items"]) == 100 and isinstance(first["next"], str)
    delivered = walk(client, token, long.ref, kind="delivered", limit=500)
    seqs = [e["seq"] for e in delivered]
    assert len(seqs) == MANY - 2 and len(set(seqs)) == len(seqs) and seqs == sorted(seqs)
    assert {e["kind"] for e in delivered} == {"delivered"}
    assert all(e["hash"] for e in delivered)
    people = walk(client, token, long.ref, kind=["note", "status_changed"], limit=1)
    assert [e["kind"] for e in people] == ["note", "status_changed"]
    every = walk(client, token, long.ref, limit=500)
    assert [e["seq"] for e in every] == list(range(1, long.timeline_seq + 1))


def test_api_refuses_unknown_kinds_bad_cursors_and_oversized_pages(
    client, member, short, token_for
):
    token = token_for(member)
    r = api(client, token, short.ref, kind=["note", "notes"])
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "kind", "message": "Unknown kind 'notes'."}]
    r = api(client, token, short.ref, cursor="bm90LWEtY3Vyc29y")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    assert api(client, token, short.ref, limit=501).status_code == 422
    assert api(client, token, short.ref, limit=0).status_code == 422


def test_stakeholders_read_the_same_entries_through_the_pages(
    client, member, stakeholder, long, token_for
):
    expected = [v.as_dict() for v in entries_for(stakeholder, long)]
    assert [e["kind"] for e in expected] == [
        "reported",
        "acknowledged",
        "public_update",
    ]
    paged = walk(client, token_for(stakeholder), long.ref, limit=1)
    assert [(e["seq"], e["kind"], e["actor"], e["data"]) for e in paged] == [
        (e["seq"], e["kind"], e["actor"], e["data"]) for e in expected
    ]
    assert all(e["hash"] == "" and e["prev_hash"] == "" for e in paged)
    hidden = walk(client, token_for(stakeholder), long.ref, kind=["note", "delivered"])
    assert hidden == []


def test_api_first_page_queries_do_not_grow_with_the_timeline(
    client, member, short, long, token_for, django_assert_max_num_queries
):
    token = token_for(member)
    api(client, token, short.ref)
    small = queries(lambda: api(client, token, short.ref))
    with django_assert_max_num_queries(small):
        api(client, token, long.ref)


def test_insights_read_the_same_figures_and_queries_with_thousands_of_deliveries(
    client, manager, member, stakeholder, django_assert_max_num_queries
):
    incident = worked(member, stakeholder, "Checkout fails")
    add_deliveries(incident, 4, failed=1)
    now = clock.now()
    with clock.frozen(now):
        before = figures(manager, now.date(), now.date())
    c = client_for(manager)
    c.get("/insights/")
    small = queries(lambda: c.get("/insights/"))
    add_deliveries(incident, MANY)
    with clock.frozen(now):
        assert figures(manager, now.date(), now.date()) == before
    with django_assert_max_num_queries(small):
        r = c.get("/insights/")
    assert r.status_code == 200


def test_the_incident_keeps_its_first_deliveries_for_the_steps(long):
    first = long.timeline.filter(kind="delivered").order_by("seq").first()
    assert long.stakeholder_delivery_seq == first.seq
    assert long.team_delivery_seq is None and long.resolution_delivery_seq is None
    add_deliveries(long, 2)
    long.refresh_from_db()
    assert long.stakeholder_delivery_seq == first.seq


def test_stakeholders_portal_page_is_the_same_and_as_cheap_with_thousands_of_deliveries(
    stakeholder, short, long, django_assert_max_num_queries
):
    c = client_for(stakeholder)
    c.get(f"/portal/{short.ref}/")
    small = queries(lambda: c.get(f"/portal/{short.ref}/"))
    with django_assert_max_num_queries(small):
        r = c.get(f"/portal/{long.ref}/")
    html = r.content.decode()
    assert r.status_code == 200 and "We found the cause." in html
    assert "reader1@northwind.test" not in html and "Looking at the load balancer" not in html
