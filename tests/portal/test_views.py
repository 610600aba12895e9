from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from incidentdesk.incidents import services as core
from incidentdesk.portal import services
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment, Follow

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def reported(stakeholder):
    return services.portal_report(
        by=stakeholder,
        title="Checkout fails with error 500",
        description="Customers cannot pay.",
        uploads=[Upload("screen.png", PNG)],
    )


def as_user(client, user):
    client.force_login(user)
    return client


PORTAL_GETS = ["/portal/", "/portal/report/", "/portal/checklist/"]


@pytest.mark.parametrize("url", PORTAL_GETS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", PORTAL_GETS)
def test_team_is_told_the_portal_is_not_theirs(client, member, url):
    response = as_user(client, member).get(url)
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is for the people who report incidents to the team." in page
    assert '<a href="/">Go to the incident queue</a>' in page


def test_our_incidents_lists_own_org_only(
    client, reported, stakeholder_same_org, other_stakeholder
):
    page = as_user(client, stakeholder_same_org).get("/portal/").content.decode()
    assert reported.ref in page and "Checkout fails with error 500" in page
    assert "Received: the team will look at it shortly" in page
    client.logout()
    page = as_user(client, other_stakeholder).get("/portal/").content.decode()
    assert reported.ref not in page


def test_report_form_creates_incident_and_shows_ref(client, stakeholder, component):
    response = as_user(client, stakeholder).post(
        "/portal/report/",
        {
            "title": "Receipts do not print",
            "problem_type": "functionality",
            "component": component.pk,
            "users_affected": "12",
            "description": "Nothing comes out.",
            "steps": "Sell anything",
            "attachments": [SimpleUploadedFile("till.log", b"paper jam?")],
        },
    )
    assert response.status_code == 302
    incident = stakeholder.reported_incidents.get()
    assert response["Location"] == f"/portal/{incident.ref}/?reported=1"
    page = client.get(response["Location"]).content.decode()
    assert f"Your report is <strong>{incident.ref}</strong>" in page
    assert "till.log" in page and "Checkout" in page


def test_report_form_names_the_size_limit(client, stakeholder):
    with override_settings(ATTACHMENT_MAX_BYTES=10):
        response = as_user(client, stakeholder).post(
            "/portal/report/",
            {"title": "x", "attachments": [SimpleUploadedFile("a.png", PNG)]},
        )
    assert response.status_code == 200
    assert "the limit is 10 bytes per file" in response.content.decode()
    assert not stakeholder.reported_incidents.exists()


@override_settings(PORTAL_REPORTS_PER_HOUR=1)
def test_report_form_rate_limit_is_explained(client, stakeholder):
    as_user(client, stakeholder).post("/portal/report/", {"title": "one"})
    response = client.post("/portal/report/", {"title": "two"})
    assert response.status_code == 429
    assert "1 problem in the last hour" in response.content.decode()


def test_checklist_follows_the_kind_of_problem(client, stakeholder):
    page = as_user(client, stakeholder).get("/portal/checklist/?problem_type=performance")
    assert "How slow (seconds, timeouts)" in page.content.decode()


def test_html_in_report_is_text(client, stakeholder):
    incident = services.portal_report(by=stakeholder, title="<script>alert(1)</script>")
    page = as_user(client, stakeholder).get(f"/portal/{incident.ref}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_answer_comment_follow_on_own_incident(client, reported, stakeholder, member):
    core.incident_request_info(by=member, incident=reported, question="Which browser?")
    as_user(client, stakeholder)
    page = client.get(f"/portal/{reported.ref}/").content.decode()
    assert "Which browser?" in page
    question = reported.info_requests.get()
    client.post(f"/portal/{reported.ref}/answer", {"request": question.pk, "answer": "Firefox"})
    question.refresh_from_db()
    assert question.answer == "Firefox"
    client.post(
        f"/portal/{reported.ref}/comment",
        {"body": "Also on Chrome", "attachments": [SimpleUploadedFile("c.txt", b"log")]},
    )
    assert reported.timeline.filter(kind="stakeholder_comment").count() == 1
    client.post(f"/portal/{reported.ref}/follow", {"follow": "0"})
    assert not Follow.objects.filter(user=stakeholder).exists()


def test_file_is_served_as_download_to_who_may_see_it(client, reported, stakeholder, member):
    item = Attachment.objects.get()
    response = as_user(client, stakeholder).get(f"/portal/files/{item.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="screen.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    client.logout()
    assert as_user(client, member).get(f"/portal/files/{item.pk}/").status_code == 200


def test_anonymous_file_download_needs_login(client, reported):
    item = Attachment.objects.get()
    assert client.get(f"/portal/files/{item.pk}/").status_code == 302


def test_other_org_gets_404_everywhere(client, reported, other_stakeholder):
    item = Attachment.objects.get()
    as_user(client, other_stakeholder)
    ref = reported.ref
    assert client.get(f"/portal/{ref}/").status_code == 404
    assert client.get(f"/portal/files/{item.pk}/").status_code == 404
    assert client.get("/portal/files/999999/").status_code == 404
    assert client.get("/portal/INC-999999/").status_code == 404
    for action, data in [
        ("answer", {"request": 1, "answer": "x"}),
        ("comment", {"body": "x"}),
        ("follow", {"follow": "1"}),
        ("join", {}),
    ]:
        assert client.post(f"/portal/{ref}/{action}", data).status_code == 404
    assert reported.timeline.count() == 2


def test_private_incident_is_hidden_from_the_org(client, stakeholder_same_org, reported, member):
    core.incident_categorize(
        by=member, incident=reported, type="security", severity="P1", impact="few", reason="test"
    )
    as_user(client, stakeholder_same_org)
    assert client.get(f"/portal/{reported.ref}/").status_code == 404
    assert client.get(f"/portal/files/{Attachment.objects.get().pk}/").status_code == 404


def test_similar_page_is_for_the_team(client, reported, stakeholder, member):
    other = services.portal_report(by=member, title="Error 500 at checkout")
    response = as_user(client, member).get(f"/incidents/{other.ref}/similar")
    assert response.status_code == 200
    page = response.content.decode()
    assert reported.ref in page and f"Merge {other.ref} into {reported.ref}" in page
    client.logout()
    response = as_user(client, stakeholder).get(f"/incidents/{reported.ref}/similar")
    assert response.status_code == 403
    assert '<a href="/portal/">Go to your organisation' in response.content.decode()
    client.logout()
    assert client.get(f"/incidents/{reported.ref}/similar").status_code == 302


def test_member_merges_from_the_similar_page(client, reported, other_stakeholder, member):
    dup = services.portal_report(by=other_stakeholder, title="Error 500 at checkout")
    as_user(client, member).post(f"/incidents/{dup.ref}/merge", {"original": reported.ref})
    dup.refresh_from_db()
    assert dup.duplicate_of_id == reported.pk


def test_stakeholder_cannot_merge_from_the_page(client, reported, stakeholder):
    dup = services.portal_report(by=stakeholder, title="Error 500 at checkout")
    response = as_user(client, stakeholder).post(
        f"/incidents/{dup.ref}/merge", {"original": reported.ref}
    )
    assert response.status_code == 403
    dup.refresh_from_db()
    assert dup.status == "reported"


def test_notification_links_lead_to_the_incident(client, reported, stakeholder):
    response = as_user(client, stakeholder).get(f"/portal/incidents/{reported.ref}")
    assert (response.status_code, response["Location"]) == (302, f"/portal/{reported.ref}/")


def test_similar_page_shows_the_reporters_details_and_files(client, reported, member):
    response = as_user(client, member).get(f"/incidents/{reported.ref}/similar")
    page = response.content.decode()
    assert "From the reporter" in page and "screen.png" in page


def _incident_urls(ref):
    return [
        ("get", f"/portal/{ref}/", {}),
        ("post", f"/portal/{ref}/answer", {"request": 1, "answer": "x"}),
        ("post", f"/portal/{ref}/comment", {"body": "x"}),
        ("post", f"/portal/{ref}/follow", {"follow": "0"}),
        ("post", f"/portal/{ref}/join", {}),
        ("post", "/portal/report/", {"title": "x"}),
    ]


def test_every_portal_page_sends_anonymous_to_login(client, reported):
    for method, url, data in _incident_urls(reported.ref):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url
    assert reported.timeline.count() == 2


def test_every_portal_page_refuses_the_team(client, reported, member):
    as_user(client, member)
    for method, url, data in _incident_urls(reported.ref):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, url
    assert reported.timeline.count() == 2
    assert not member.reported_incidents.exists()


def test_our_incidents_shows_the_latest_public_update(client, reported, stakeholder, member):
    core.incident_post_update(
        by=member, incident=reported, status="investigating", body="We are on it."
    )
    page = as_user(client, stakeholder).get("/portal/").content.decode()
    assert "We are on it." in page


def test_checklist_when_not_sure_is_short_and_general(client, stakeholder):
    text = as_user(client, stakeholder).get("/portal/checklist/").content.decode()
    # not every kind's items: nothing that belongs to maintenance or to slowness alone
    assert "The maintenance window" not in text
    assert "How slow (seconds, timeouts)" not in text
    assert "When it started" in text
    assert "Which service or page is affected" in text
    report = client.get("/portal/report/").content.decode()
    assert "The maintenance window" not in report
