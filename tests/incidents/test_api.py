"""The incident API beyond the happy path: listing, filters, pagination, bad input."""

from __future__ import annotations

import json

import pytest

from incidentdesk.incidents import roles
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, TimelineEntry

from .conftest import writes_nothing


@pytest.fixture
def auth(member, token_for):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(member)}"}


def post(client, path, body, auth):
    return client.post(
        f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **auth
    )


def test_list_is_newest_first_with_a_cursor(client, member, auth):
    refs = [s.incident_report(by=member, title=f"Incident {n}").ref for n in range(5)]
    r = client.get("/api/v1/incidents", {"limit": 2}, **auth)
    page = r.json()
    assert [i["ref"] for i in page["items"]] == refs[::-1][:2]
    seen = [i["ref"] for i in page["items"]]
    while page["next"]:
        page = client.get("/api/v1/incidents", {"limit": 2, "cursor": page["next"]}, **auth).json()
        seen += [i["ref"] for i in page["items"]]
    assert seen == refs[::-1]


def test_list_filters(client, member, member2, auth):
    a = s.incident_report(by=member, title="Tills down")
    b = s.incident_report(by=member, title="Slow search")
    s.incident_categorize(by=member, incident=a, type="functionality", severity="P3", impact="few")
    roles.incident_assign(by=member2, incident=b, assignee=member2.email)

    def refs(**params):
        return [i["ref"] for i in client.get("/api/v1/incidents", params, **auth).json()["items"]]

    assert refs(status="triaged") == [a.ref]
    assert refs(status="reported,triaged") == [b.ref, a.ref]
    assert refs(type="functionality", severity="P3") == [a.ref]
    assert refs(assignee=member2.email) == [b.ref]
    assert refs(assignee="me") == [a.ref]
    assert refs(q="slow") == [b.ref]
    assert refs(q=a.ref.lower()) == [a.ref]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_list_parameters_are_422(client, auth, params, field):
    r = client.get("/api/v1/incidents", params, **auth)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("ref", ["INC-999", "INC-0", "inc-x", "42"])
def test_unknown_or_malformed_ref_is_404(client, auth, ref):
    r = client.get(f"/api/v1/incidents/{ref}", **auth)
    assert r.status_code == 404
    assert r.json() == {"detail": f"No incident {ref}.", "errors": []}


def test_unknown_type_and_severity_are_422_and_write_nothing(client, member, auth):
    incident = s.incident_report(by=member, title="x")
    with writes_nothing():
        r = post(
            client,
            f"/incidents/{incident.ref}/categorize",
            {"type": "cosmic", "severity": "P9", "impact": "few"},
            auth,
        )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["type", "severity"]


def test_stale_version_over_the_api_is_409(client, member, auth):
    incident = s.incident_report(by=member, title="x")
    s.incident_add_note(by=member, incident=incident, body="moved on")
    with writes_nothing():
        r = post(
            client,
            f"/incidents/{incident.ref}/categorize",
            {"type": "functionality", "severity": "P3", "impact": "few", "version": 1},
            auth,
        )
    assert r.status_code == 409
    assert "changed by someone else" in r.json()["detail"]
    with writes_nothing():
        r = post(client, f"/incidents/{incident.ref}/note", {"body": "x", "version": 1}, auth)
    assert r.status_code == 409
    r = post(client, f"/incidents/{incident.ref}/note", {"body": "x", "version": 2}, auth)
    assert r.status_code == 201


def test_report_with_future_start_writes_nothing(client, auth):
    r = post(client, "/incidents", {"title": "x", "started_at": "2999-01-01T00:00:00Z"}, auth)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "started_at", "message": "The start cannot be in the future."}
    ]
    assert Incident.objects.count() == TimelineEntry.objects.count() == 0


def test_task_update_over_the_api(client, member, auth):
    incident = s.incident_report(by=member, title="x")
    s.incident_categorize(
        by=member, incident=incident, type="performance", severity="P3", impact="few"
    )
    tasks = client.get(f"/api/v1/incidents/{incident.ref}/tasks", **auth).json()["items"]
    assert tasks[0]["title"] == "Confirm the slowdown on dashboards"
    r = post(
        client, f"/incidents/{incident.ref}/tasks/{tasks[0]['id']}", {"state": "skipped"}, auth
    )
    assert r.status_code == 422
    r = post(
        client,
        f"/incidents/{incident.ref}/tasks/{tasks[0]['id']}",
        {"state": "skipped", "reason": "Alert already shows it"},
        auth,
    )
    assert (r.status_code, r.json()["state"], r.json()["done_by"]) == (
        200,
        "skipped",
        member.email,
    )


def test_stakeholder_reports_through_the_core_api_are_rate_limited(
    client, settings, stakeholder, member, token_for, auth
):
    settings.PORTAL_REPORTS_PER_HOUR = 2
    theirs = {"HTTP_AUTHORIZATION": f"Bearer {token_for(stakeholder)}"}
    for n in range(2):
        assert post(client, "/incidents", {"title": f"Report {n}"}, theirs).status_code == 201
    with writes_nothing():
        r = post(client, "/incidents", {"title": "Report 3"}, theirs)
    assert r.status_code == 429
    assert "2 problems in the last hour" in r.json()["detail"]
    # the team is not limited: an alert source may open many at once
    for n in range(3):
        assert post(client, "/incidents", {"title": f"Alert {n}"}, auth).status_code == 201


def test_a_report_over_the_api_costs_the_same_queries_for_a_bigger_team(client, member, auth):
    """A report plans the manager's notices in bulk: the reads and writes of a create stay
    fixed as the team grows, so creates under load cost what they cost for a small team."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidentdesk.accounts.services import user_create

    def queries(title: str) -> int:
        with CaptureQueriesContext(connection) as done:
            assert post(client, "/incidents", {"title": title}, auth).status_code == 201
        # the wake-up NOTIFY (PostgreSQL) is sent once per queue and transaction; inside this
        # test's own transaction an earlier request's is still pending, so it is not counted
        return len([q for q in done.captured_queries if "pg_notify" not in q["sql"]])

    queries("warms the policy and the token")
    user_create(by=None, email="morgan@spacewise.test", password="pass-12345-x", role="manager")
    with_one_manager = queries("Checkout fails")
    for i in range(5):
        user_create(by=None, email=f"lead{i}@spacewise.test", password="pass-12345-x",
                    role="manager")  # fmt: skip
    assert queries("Search is slow") == with_one_manager <= 20
