from __future__ import annotations

import pytest
from django.test import override_settings

from incidentdesk.incidents import services as core
from incidentdesk.portal import services
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment
from incidentdesk.statuspage.services import incident_publish as publish

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def reported(stakeholder):
    return services.portal_report(
        by=stakeholder, title="Checkout fails with error 500", uploads=[Upload("s.png", PNG)]
    )


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_stakeholder_token_lists_own_org_incidents_only(
    client, token_for, reported, other_stakeholder
):
    own = client.get("/api/v1/incidents", **auth(token_for(reported.reporter))).json()
    assert [i["ref"] for i in own["items"]] == [reported.ref]
    other = client.get("/api/v1/incidents", **auth(token_for(other_stakeholder))).json()
    assert other["items"] == []


def test_comment_and_upload_and_download(client, token_for, reported, stakeholder_same_org):
    headers = auth(token_for(stakeholder_same_org))
    response = client.post(
        f"/api/v1/incidents/{reported.ref}/comments",
        {"body": "Also here"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201 and response.json()["body"] == "Also here"
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/v1/incidents/{reported.ref}/attachments",
        {"files": [SimpleUploadedFile("more.log", b"trace")], "body": "trace attached"},
        **headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachments"][0]["name"] == "more.log"
    listed = client.get(f"/api/v1/incidents/{reported.ref}/attachments", **headers).json()
    assert [a["filename"] for a in listed["items"]] == ["s.png", "more.log"]
    download = client.get(listed["items"][1]["url"], **headers)
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="more.log"'
    assert download["X-Content-Type-Options"] == "nosniff"
    comments = client.get(f"/api/v1/incidents/{reported.ref}/comments", **headers).json()
    assert [c["body"] for c in comments["items"]] == ["Also here", "trace attached"]


@override_settings(ATTACHMENT_TYPES={".png": "image/png"})
def test_upload_of_disallowed_type_is_422(client, token_for, reported, stakeholder):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/v1/incidents/{reported.ref}/attachments",
        {"files": [SimpleUploadedFile("x.exe", b"MZ")]},
        **auth(token_for(stakeholder)),
    )
    assert response.status_code == 422
    assert "x.exe: this type of file is not accepted (.png)" in response.json()["detail"]


def test_other_org_gets_404_on_every_endpoint(client, token_for, reported, other_stakeholder):
    headers = auth(token_for(other_stakeholder))
    ref = reported.ref
    item = Attachment.objects.get()
    for method, url, body in [
        ("get", f"/api/v1/incidents/{ref}", None),
        ("get", f"/api/v1/incidents/{ref}/similar", None),
        ("get", f"/api/v1/incidents/{ref}/comments", None),
        ("post", f"/api/v1/incidents/{ref}/comments", {"body": "x"}),
        ("get", f"/api/v1/incidents/{ref}/attachments", None),
        ("get", f"/api/v1/attachments/{item.pk}", None),
        ("post", f"/api/v1/incidents/{ref}/join", {}),
        ("post", f"/api/v1/incidents/{ref}/follow", None),
        ("delete", f"/api/v1/incidents/{ref}/follow", None),
    ]:
        call = getattr(client, method)
        kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
        response = call(url, **kwargs, **headers)
        assert response.status_code == 404, (method, url, response.content)
    assert reported.timeline.count() == 2


def test_anonymous_gets_401(client, reported):
    item = Attachment.objects.get()
    for url in [f"/api/v1/incidents/{reported.ref}/similar", f"/api/v1/attachments/{item.pk}"]:
        assert client.get(url).status_code == 401


def test_join_and_follow(client, token_for, reported, other_stakeholder, member):
    """Contoso knows Northwind's incident only from the status page: joining asks the team,
    and once the team links Contoso, its stakeholder follows and may stop following."""
    core.incident_post_update(by=member, incident=reported, status="investigating", body="On it")
    publish(by=member, incident=reported.ref, title="Checkout unavailable")
    headers = auth(token_for(other_stakeholder))
    response = client.post(
        f"/api/v1/incidents/{reported.ref}/join", {}, content_type="application/json", **headers
    )
    assert response.json() == {
        "ref": reported.ref,
        "title": "Checkout unavailable",
        "status": "investigating",
        "plain_status": "Investigating",
        "linked": False,
        "affected_organisations": [],
    }
    assert client.delete(f"/api/v1/incidents/{reported.ref}/follow", **headers).status_code == 404
    linked = client.post(
        f"/api/v1/incidents/{reported.ref}/organisations",
        {"organisation": "Contoso"},
        content_type="application/json",
        **auth(token_for(member)),
    )
    assert linked.json()["affected_organisations"] == ["Contoso", "Northwind"]
    assert (
        client.delete(f"/api/v1/incidents/{reported.ref}/follow", **headers).json()["following"]
        is False
    )


def test_team_cannot_join(client, token_for, reported, member):
    response = client.post(
        f"/api/v1/incidents/{reported.ref}/join",
        {},
        content_type="application/json",
        **auth(token_for(member)),
    )
    assert response.status_code == 403


def test_similar_for_the_team(client, token_for, reported, member):
    other = services.portal_report(by=member, title="Error 500 in checkout")
    response = client.get(f"/api/v1/incidents/{other.ref}/similar", **auth(token_for(member)))
    assert [i["ref"] for i in response.json()["items"]] == [reported.ref]
    assert response.json()["items"][0]["title"] == reported.title


def test_merge_is_for_the_team(client, token_for, reported, stakeholder, other_stakeholder, member):
    dup = services.portal_report(by=other_stakeholder, title="Error 500 in checkout")
    denied = client.post(
        f"/api/v1/incidents/{dup.ref}/merge",
        {"original": reported.ref},
        content_type="application/json",
        **auth(token_for(stakeholder)),
    )
    assert denied.status_code == 403
    response = client.post(
        f"/api/v1/incidents/{dup.ref}/merge",
        {"original": reported.ref},
        content_type="application/json",
        **auth(token_for(member)),
    )
    assert response.status_code == 200
    assert response.json() == {
        "duplicate": dup.ref,
        "original": reported.ref,
        "affected_organisations": ["Contoso", "Northwind"],
    }


def test_anonymous_gets_401_on_every_portal_endpoint(client, reported):
    ref = reported.ref
    for method, url in [
        ("get", f"/api/v1/incidents/{ref}/comments"),
        ("post", f"/api/v1/incidents/{ref}/comments"),
        ("get", f"/api/v1/incidents/{ref}/attachments"),
        ("post", f"/api/v1/incidents/{ref}/attachments"),
        ("post", f"/api/v1/incidents/{ref}/join"),
        ("post", f"/api/v1/incidents/{ref}/follow"),
        ("delete", f"/api/v1/incidents/{ref}/follow"),
        ("post", f"/api/v1/incidents/{ref}/merge"),
    ]:
        assert getattr(client, method)(url).status_code == 401, (method, url)
    assert reported.timeline.count() == 2


def test_report_with_details_through_the_api(client, token_for, stakeholder, component):
    response = client.post(
        "/api/v1/reports",
        {
            "title": "Stock counts wrong",
            "problem_type": "functionality",
            "component": component.pk,
            "users_affected": 3,
            "steps": "Open stock",
        },
        content_type="application/json",
        **auth(token_for(stakeholder)),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plain_status"] == "Received: the team will look at it shortly"
    from incidentdesk.portal.models import ReportDetails

    details = ReportDetails.objects.get(incident__title="Stock counts wrong")
    assert (details.component, details.users_affected, details.source) == (component, 3, "api")


@override_settings(PORTAL_REPORTS_PER_HOUR=1)
def test_api_reports_are_rate_limited(client, token_for, stakeholder):
    headers = auth(token_for(stakeholder))
    client.post("/api/v1/reports", {"title": "one"}, content_type="application/json", **headers)
    response = client.post(
        "/api/v1/reports", {"title": "two"}, content_type="application/json", **headers
    )
    assert response.status_code == 429
    assert "1 problem in the last hour" in response.json()["detail"]


def test_api_report_names_an_unknown_component(client, token_for, stakeholder):
    response = client.post(
        "/api/v1/reports",
        {"title": "x", "component": 999},
        content_type="application/json",
        **auth(token_for(stakeholder)),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "component", "message": "No such service or component."}
    ]


def test_api_report_needs_a_token(client):
    assert (
        client.post("/api/v1/reports", {"title": "x"}, content_type="application/json").status_code
        == 401
    )
