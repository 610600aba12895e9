"""The queue's search finds incidents by the words of their title and description through the
database's full-text index (SQLite FTS5, PostgreSQL tsvector), a search matching nothing
included, so its cost does not follow the number of incidents."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from incidentdesk.accounts.services import token_create
from incidentdesk.incidents import services as s
from incidentdesk.incidents.selectors import IncidentFilters, incident_list_for


@pytest.fixture
def incidents(member):
    return {
        "checkout": s.incident_report(
            by=member, title="Checkout fails", description="Card payments are declined."
        ),
        "login": s.incident_report(
            by=member, title="Login is slow", description="Single sign-on times out for staff."
        ),
        "mail": s.incident_report(
            by=member, title="Mail delayed", description="Invoices reach customers late."
        ),
    }


def found(member, q):
    return {i.title for i in incident_list_for(member, IncidentFilters(q=q))}


def test_the_queue_search_finds_by_words_of_title_and_description(incidents, member):
    assert found(member, "checkout") == {"Checkout fails"}
    assert found(member, "PAYMENTS") == {"Checkout fails"}  # a word of the description
    assert found(member, "invoice") == {"Mail delayed"}  # "invoices", stemmed
    assert found(member, "sign-on staff") == {"Login is slow"}  # every word, in either field
    assert found(member, "fail") == {"Checkout fails"}  # the start of a word
    assert found(member, "checkout late") == set()  # words of two different incidents
    assert found(member, "zanzibar") == set()
    assert found(member, "the") == set()  # nothing to search for
    assert found(member, incidents["mail"].ref) == {"Mail delayed"}


def test_the_queue_page_and_the_api_search_the_same_way(incidents, member):
    client = Client()
    client.force_login(member)
    html = client.get("/?q=declined").content.decode()
    assert f">{incidents['checkout'].ref}</a>" in html
    assert f">{incidents['login'].ref}</a>" not in html
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(by=member, user=member)[0]}")
    body = api.get("/api/v1/incidents?q=staff").json()
    assert [i["ref"] for i in body["items"]] == [incidents["login"].ref]
    assert api.get("/api/v1/incidents?q=zanzibar").json()["items"] == []


def test_the_search_reads_the_full_text_index(incidents, member):
    qs = incident_list_for(member, IncidentFilters(q="zanzibar")).order_by("-pk")[:50]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # a table this small is cheaper to read whole: make the planner show its index
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
        assert "Bitmap Index Scan on portal_incident_fts" in plan  # the GIN index on the tsvector
    else:
        plan = qs.explain()
        assert "portal_incident_fts VIRTUAL TABLE INDEX" in plan  # FTS5's MATCH
    assert "like" not in plan.lower()  # no pattern match over every title


def test_a_new_incident_is_in_the_search_index_itself_not_in_a_pending_list(incidents):
    if connection.vendor != "postgresql":
        pytest.skip("a pending list is GIN's, on PostgreSQL; SQLite's FTS5 merges its own")
    # a pending list is read through, entry by entry, by every search until a vacuum merges it
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'portal_incident_fts'")
        assert "fastupdate=off" in (cursor.fetchone()[0] or [])
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        cursor.execute(
            "SELECT pending_pages, pending_tuples FROM pgstatginindex('portal_incident_fts')"
        )
        assert cursor.fetchone() == (0, 0)
