"""/api/v1: reviews, action items and metrics with bearer tokens."""

from __future__ import annotations

import json

import pytest

from incidentdesk.reviews.models import ActionItem, Review

from .helpers import at, worked_incident


def call(client, token, method, path, body=None):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


@pytest.fixture
def p1(member):
    return worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )


def test_review_and_action_items_over_the_api(client, p1, member, manager, token_for):
    m, mg = token_for(member), token_for(manager)
    r = call(client, m, "get", f"/incidents/{p1.ref}/review")
    assert r.json()["state"] == "none" and r.json()["required"] is True
    assert call(client, m, "post", f"/incidents/{p1.ref}/review").status_code == 201
    body = {"sections": {"summary": "S", "trigger": "T", "lessons": "Someone should have looked."}}
    r = call(client, m, "put", f"/incidents/{p1.ref}/review", body)
    assert r.status_code == 200, r.content
    assert r.json()["findings"][0]["phrase"] == "should have"
    r = call(client, m, "put", f"/incidents/{p1.ref}/review", {"sections": {"blame": "x"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sections.blame"
    r = call(client, m, "post", f"/incidents/{p1.ref}/review/publish")
    assert r.json()["state"] == "published" and r.json()["revisions"][0]["number"] == 1
    r = call(client, m, "post", f"/incidents/{p1.ref}/review/waive", {"reason": "x"})
    assert r.status_code == 403

    r = call(
        client, m, "post", f"/incidents/{p1.ref}/action-items",
        {"title": "Alert on expiry", "kind": "detect", "owner": member.email, "due_date": "2030-01-01"},
    )  # fmt: skip
    assert r.status_code == 201, r.content
    item = r.json()["id"]
    r = call(client, mg, "patch", f"/action-items/{item}", {"status": "done"})
    assert r.json()["status"] == "done"
    r = call(client, m, "get", "/action-items?status=done")
    assert [i["title"] for i in r.json()["items"]] == ["Alert on expiry"]
    assert call(client, m, "get", "/action-items?status=bogus").status_code == 422


def test_metrics_over_the_api(client, p1, manager, member, stakeholder, token_for):
    mg = token_for(manager)
    r = call(client, mg, "get", "/metrics?from=2026-03-01&to=2026-03-31")
    assert r.status_code == 200
    assert r.json()["incidents"] == 1
    empty = call(client, mg, "get", "/metrics?from=2020-01-01&to=2020-01-31").json()
    assert empty["incidents"] == 0 and empty["durations"][0]["overall"]["median"] is None
    r = call(client, mg, "get", "/metrics?from=2026-03-31&to=2026-03-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"
    r = call(client, mg, "get", "/metrics?from=yesterday")
    assert r.status_code == 422
    assert call(client, token_for(member), "get", "/metrics").status_code == 403
    assert call(client, token_for(stakeholder), "get", "/metrics").status_code == 403
    assert client.get("/api/v1/metrics").status_code == 401


def test_stakeholders_get_nothing_from_the_review_api(client, p1, stakeholder, token_for):
    s = token_for(stakeholder)
    assert call(client, s, "get", f"/incidents/{p1.ref}/review").status_code == 403
    assert call(client, s, "post", f"/incidents/{p1.ref}/review").status_code == 403
    assert call(client, s, "get", "/action-items").status_code == 403
    for method, path, body in (
        ("put", f"/incidents/{p1.ref}/review", {"sections": {"summary": "x"}}),
        ("post", f"/incidents/{p1.ref}/review/submit", None),
        ("post", f"/incidents/{p1.ref}/review/publish", None),
        ("post", f"/incidents/{p1.ref}/review/comments", {"body": "x"}),
        ("post", f"/incidents/{p1.ref}/review/waive", {"reason": "x"}),
        (
            "post",
            f"/incidents/{p1.ref}/action-items",
            {
                "title": "x",
                "kind": "detect",
                "owner": "alex@spacewise.test",
                "due_date": "2030-01-01",
            },
        ),
        ("patch", "/action-items/1", {"status": "done"}),
    ):
        assert call(client, s, method, path, body).status_code in (403, 404), path
    assert not Review.objects.exists() and not ActionItem.objects.exists()


def test_conformance_of_one_incident(client, p1, member, stakeholder, token_for):
    r = call(client, token_for(member), "get", f"/incidents/{p1.ref}/conformance")
    assert r.status_code == 200
    steps = r.json()["steps"]
    assert [s["key"] for s in steps] == [
        "assess", "categorize", "communicate", "resolve", "inform", "document",
    ]  # fmt: skip
    assert steps[0]["on_time"] is True
    assert (
        call(client, token_for(stakeholder), "get", f"/incidents/{p1.ref}/conformance").status_code
        == 403
    )
