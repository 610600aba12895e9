"""The whole lifecycle over the JSON API with bearer tokens, as a client would drive it."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from incidentdesk.incidents.models import Incident, TimelineEntry


def call(client: Client, token: str, method: str, path: str, body=None):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


@pytest.mark.django_db
def test_report_to_close_over_the_api(
    client, stakeholder, other_stakeholder, member, manager, token_for
):
    s, m, mg = token_for(stakeholder), token_for(member), token_for(manager)

    r = call(
        client,
        s,
        "post",
        "/incidents",
        {"title": "Tills cannot sync", "description": "Since 09:00"},
    )
    assert r.status_code == 201, r.content
    ref = r.json()["ref"]
    assert r.json()["status"] == "reported"
    assert r.json()["organisation"] == "Northwind"

    assert call(client, m, "post", f"/incidents/{ref}/acknowledge").status_code == 200
    r = call(
        client,
        m,
        "post",
        f"/incidents/{ref}/categorize",
        {"type": "functionality", "severity": "P3", "impact": "few"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["suggested_severity"] == "P3"
    assert r.json()["incident"]["status"] == "triaged"

    assert (
        call(client, m, "post", f"/incidents/{ref}/status", {"status": "investigating"}).json()[
            "status"
        ]
        == "investigating"
    )
    r = call(
        client, m, "post", f"/incidents/{ref}/resolve", {"summary": "Restarted the sync service."}
    )
    assert r.json()["status"] == "resolved"
    r = call(client, m, "post", f"/incidents/{ref}/close")
    assert r.status_code == 403
    assert r.json()["detail"]
    r = call(client, mg, "post", f"/incidents/{ref}/close")
    assert r.json()["status"] == "closed"

    kinds = [
        e["kind"] for e in call(client, m, "get", f"/incidents/{ref}/timeline").json()["items"]
    ]
    assert kinds == [
        "reported",
        "acknowledged",
        "categorized",
        "status_changed",
        "resolved",
        "closed",
    ]


@pytest.mark.django_db
def test_illegal_transition_is_409_naming_allowed_statuses(client, member, token_for):
    m = token_for(member)
    ref = call(client, m, "post", "/incidents", {"title": "x"}).json()["ref"]
    r = call(client, m, "post", f"/incidents/{ref}/resolve", {"summary": "done"})
    assert r.status_code == 409
    assert "allowed from reported: rejected, triaged" in r.json()["detail"]
    assert TimelineEntry.objects.filter(incident__pk=int(ref[4:])).count() == 1


@pytest.mark.django_db
def test_bad_input_is_4xx_and_writes_nothing(client, member, token_for):
    m = token_for(member)
    r = client.post(
        "/api/v1/incidents",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {m}",
    )
    assert r.status_code == 400
    r = call(client, m, "post", "/incidents", {"title": "x" * 100_000})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "title"
    r = call(client, m, "post", "/incidents", {"description": "no title"})
    assert r.status_code == 422
    assert Incident.objects.count() == 0
    assert TimelineEntry.objects.count() == 0


@pytest.mark.django_db
def test_stakeholder_cannot_see_another_organisations_incident(
    client, stakeholder, other_stakeholder, token_for
):
    s, o = token_for(stakeholder), token_for(other_stakeholder)
    ref = call(client, s, "post", "/incidents", {"title": "Ours"}).json()["ref"]
    assert call(client, o, "get", f"/incidents/{ref}").status_code == 404
    assert call(client, o, "get", "/incidents").json()["items"] == []
    assert call(client, s, "get", "/incidents").json()["items"][0]["ref"] == ref


@pytest.mark.django_db
def test_unauthenticated_is_401(client):
    r = client.get("/api/v1/incidents")
    assert r.status_code == 401
    assert r.json()["detail"]
