"""What each audience sees of an incident: another organisation's stakeholder learns nothing
by "joining" it, similar-incident suggestions keep to what the reader may see, and the
stakeholder timeline (API and portal page) carries none of the team's data, while the team
still reads everything."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from incidentdesk.accounts.services import user_create
from incidentdesk.comms.models import Delivery
from incidentdesk.incidents import services as core
from incidentdesk.incidents.kinds import KINDS, Audience, entry_view, kind_of, label
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.portal import services as portal
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment, Follow
from incidentdesk.reviews import export
from incidentdesk.statuspage import services as statuspage
from tests.conftest import PASSWORD

DESCRIPTION = "Contoso-internal: the payment proxy at pay-7.contoso.lan drops TLS sessions."
COMMENT = "Contoso-internal: our merchant id is 88-2211, do not share."
FILE_BYTES = b"Contoso-internal log: card 4111 declined at terminal 17\n"
NOTE = "Team-internal: the vendor's support contract lapsed last month."
PUBLIC_TITLE = "Card payments degraded"
SECRETS = [DESCRIPTION, COMMENT, FILE_BYTES.decode(), NOTE, "88-2211", "pay-7.contoso.lan"]


@pytest.fixture(autouse=True)
def _attachments_dir(tmp_path):
    with override_settings(ATTACHMENTS_DIR=tmp_path / "attachments"):
        yield


@pytest.fixture
def fabrikam(db):
    return user_create(
        by=None,
        email="fay@fabrikam.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Fabrikam",
    )


@pytest.fixture
def contoso_incident(other_stakeholder, member):
    """Contoso's open incident with a description, a comment, a file, a team note, an
    assignee and a public update."""
    incident = portal.portal_report(
        by=other_stakeholder,
        title="Checkout payment fails with TLS error",
        description=DESCRIPTION,
        uploads=[Upload("proxy.log", FILE_BYTES)],
    )
    portal.portal_comment(by=other_stakeholder, incident=incident.ref, body=COMMENT)
    core.incident_acknowledge(by=member, incident=incident.ref)
    core.incident_add_note(by=member, incident=incident.ref, body=NOTE)
    core.incident_post_update(
        by=member, incident=incident.ref, status="investigating", body="We are looking into it."
    )
    return Incident.objects.get(pk=incident.pk)


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _reads(client, headers, ref: str, attachment_ids: list[int]) -> list:
    urls = [
        f"/api/v1/incidents/{ref}",
        f"/api/v1/incidents/{ref}/timeline",
        f"/api/v1/incidents/{ref}/comments",
        f"/api/v1/incidents/{ref}/attachments",
        f"/api/v1/incidents/{ref}/steps",
        f"/api/v1/incidents/{ref}/similar",
        *(f"/api/v1/attachments/{pk}" for pk in attachment_ids),
    ]
    return [(url, client.get(url, **headers)) for url in urls]


def _body(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_joining_every_ref_reveals_nothing_of_another_organisation(
    client, token_for, fabrikam, contoso_incident, other_stakeholder, member
):
    unpublished = portal.portal_report(by=other_stakeholder, title="Invoices print blank")
    statuspage.incident_publish(by=member, incident=contoso_incident.ref, title=PUBLIC_TITLE)
    headers = auth(token_for(fabrikam))
    entries_before = TimelineEntry.objects.filter(incident=unpublished).count()
    last = Incident.objects.order_by("-pk").first().pk

    answers = {}
    for number in range(1, last + 3):
        ref = f"INC-{number}"
        response = client.post(
            f"/api/v1/incidents/{ref}/join", {}, content_type="application/json", **headers
        )
        answers[ref] = (response.status_code, response.json())

    # the published incident answers with its public face only; every other ref, existing
    # or not, answers the same 404
    assert answers[contoso_incident.ref] == (
        200,
        {
            "ref": contoso_incident.ref,
            "title": PUBLIC_TITLE,
            "status": "investigating",
            "plain_status": "Investigating",
            "linked": False,
            "affected_organisations": [],
        },
    )
    refused = {ref: a for ref, a in answers.items() if ref != contoso_incident.ref}
    assert {
        (status, json.dumps(body).replace(ref, "INC-n")) for ref, (status, body) in refused.items()
    } == {
        (
            404,
            json.dumps({"detail": "No open incident INC-n.", "errors": []}),
        )
    }
    assert TimelineEntry.objects.filter(incident=unpublished).count() == entries_before

    # after the loop, nothing of Contoso's incident is readable, by API or portal page
    attachment_ids = list(Attachment.objects.values_list("pk", flat=True))
    for url, response in _reads(client, headers, contoso_incident.ref, attachment_ids):
        assert response.status_code == 404, url
        assert not any(secret in _body(response) for secret in SECRETS), url
    client.force_login(fabrikam)
    for url in [
        f"/portal/{contoso_incident.ref}/",
        *(f"/portal/files/{pk}/" for pk in attachment_ids),
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert not any(secret in _body(response) for secret in SECRETS), url
    index = client.get("/portal/")
    assert contoso_incident.ref not in index.content.decode()
    assert not contoso_incident.affected_orgs.filter(name="Fabrikam").exists()
    assert not Follow.objects.filter(user=fabrikam).exists()


def test_join_request_reaches_the_team_who_links_the_organisation(
    client, token_for, fabrikam, contoso_incident, member
):
    statuspage.incident_publish(by=member, incident=contoso_incident.ref, title=PUBLIC_TITLE)
    headers = auth(token_for(fabrikam))
    for _ in range(2):
        client.post(
            f"/api/v1/incidents/{contoso_incident.ref}/join",
            {},
            content_type="application/json",
            **headers,
        )
    requested = contoso_incident.timeline.filter(kind="org_join_requested")
    assert [e.data["organisation"] for e in requested] == ["Fabrikam"]

    # a stakeholder cannot link itself; nothing is written
    count = contoso_incident.timeline.count()
    denied = client.post(
        f"/api/v1/incidents/{contoso_incident.ref}/organisations",
        {"organisation": "Fabrikam"},
        content_type="application/json",
        **headers,
    )
    assert denied.status_code == 403
    assert contoso_incident.timeline.count() == count

    client.force_login(member)
    page = client.get(f"/incidents/{contoso_incident.ref}/similar").content.decode()
    assert "Organisations asking to be listed as affected" in page
    assert "Link Fabrikam" in page
    response = client.post(
        f"/incidents/{contoso_incident.ref}/organisations", {"organisation": "Fabrikam"}
    )
    assert response.status_code == 302
    assert contoso_incident.affected_orgs.filter(name="Fabrikam").exists()
    assert Follow.objects.filter(user=fabrikam, incident=contoso_incident).exists()
    told = Delivery.objects.filter(
        recipient=fabrikam.email,
        subject=f"Fabrikam is now listed as affected by {contoso_incident.ref}",
    )
    assert told.count() == 1
    page = client.get(f"/incidents/{contoso_incident.ref}/similar").content.decode()
    assert "Link Fabrikam" not in page
    # now linked, Fabrikam reads the incident like any of its organisations
    mine = client.get(f"/api/v1/incidents/{contoso_incident.ref}", **headers)
    assert mine.status_code == 200 and mine.json()["description"] == DESCRIPTION


def test_similar_shows_a_stakeholder_only_what_it_may_see(
    client, token_for, fabrikam, contoso_incident, other_stakeholder, member
):
    hidden = portal.portal_report(by=other_stakeholder, title="Checkout payment TLS error again")
    headers = auth(token_for(fabrikam))
    mine = client.post(
        "/api/v1/reports",
        {"title": "Payment fails at checkout with a TLS error"},
        content_type="application/json",
        **headers,
    ).json()
    assert mine["similar"] == []
    statuspage.incident_publish(by=member, incident=contoso_incident.ref, title=PUBLIC_TITLE)

    similar = client.get(f"/api/v1/incidents/{mine['ref']}/similar", **headers).json()
    assert similar["items"] == [
        {
            "ref": contoso_incident.ref,
            "title": PUBLIC_TITLE,
            "status": "investigating",
            "plain_status": "Investigating",
            "linked": False,
        }
    ]
    client.force_login(fabrikam)
    page = client.get(f"/portal/{mine['ref']}/?reported=1").content.decode()
    assert PUBLIC_TITLE in page
    assert f"Ask to join {contoso_incident.ref}" in page
    assert contoso_incident.title not in page and hidden.title not in page

    # the team sees every similar incident by its own title
    team = client.get(f"/api/v1/incidents/{mine['ref']}/similar", **auth(token_for(member))).json()
    assert {i["title"] for i in team["items"]} == {contoso_incident.title, hidden.title}


def _worked(incident: Incident, member) -> Incident:
    core.incident_categorize(
        by=member,
        incident=incident.ref,
        type="functionality",
        severity="P3",
        impact="few",
        reason="one merchant",
    )
    first = incident.tasks.order_by("position").first()
    core.incident_task_update(by=member, incident=incident.ref, task_id=first.pk, state="done")
    portal.portal_comment(by=member, incident=incident.ref, body="Could you try again now?")
    core.incident_resolve(by=member, incident=incident.ref, summary="The proxy was restarted.")
    return Incident.objects.get(pk=incident.pk)


def test_stakeholder_timeline_carries_no_team_data(
    client, token_for, contoso_incident, other_stakeholder, member
):
    incident = _worked(contoso_incident, member)
    response = client.get(
        f"/api/v1/incidents/{incident.ref}/timeline", **auth(token_for(other_stakeholder))
    )
    items = response.json()["items"]
    text = response.content.decode()
    assert member.email not in text
    assert NOTE not in text and "Reproduce the problem" not in text
    kinds = [i["kind"] for i in items]
    assert "note" not in kinds and "categorized" not in kinds and "task_updated" not in kinds
    acknowledged = next(i for i in items if i["kind"] == "acknowledged")
    assert acknowledged == {
        **acknowledged,
        "label": "Acknowledged",
        "actor": "The team",
        "data": {},
        "hash": "",
        "prev_hash": "",
    }
    resolved = next(i for i in items if i["kind"] == "resolved")
    assert resolved["data"] == {"summary": "The proxy was restarted."}
    comments = [i for i in items if i["kind"] == "stakeholder_comment"]
    assert [c["actor"] for c in comments] == [other_stakeholder.email, "The team"]
    listed = client.get(
        f"/api/v1/incidents/{incident.ref}/comments", **auth(token_for(other_stakeholder))
    ).json()
    assert [c["author"] for c in listed["items"]] == [other_stakeholder.email, "The team"]
    detail = client.get(
        f"/api/v1/incidents/{incident.ref}", **auth(token_for(other_stakeholder))
    ).json()
    assert detail["assignee"] is None and detail["reporter"] == other_stakeholder.email
    tasks = client.get(
        f"/api/v1/incidents/{incident.ref}/tasks", **auth(token_for(other_stakeholder))
    )
    # the checklist is the team's working notes: a stakeholder gets none of it
    assert tasks.json()["items"] == []
    assert member.email not in tasks.content.decode()


def test_stakeholder_page_carries_no_team_data(client, contoso_incident, other_stakeholder, member):
    incident = _worked(contoso_incident, member)
    client.force_login(other_stakeholder)
    page = client.get(f"/portal/{incident.ref}/").content.decode()
    assert "The proxy was restarted." in page and "We are looking into it." in page
    assert member.email not in page
    assert NOTE not in page and "Reproduce the problem" not in page
    assert "open_tasks" not in page and "assignee" not in page


def test_team_still_reads_every_entry_whole(client, token_for, contoso_incident, member):
    incident = _worked(contoso_incident, member)
    items = client.get(
        f"/api/v1/incidents/{incident.ref}/timeline", **auth(token_for(member))
    ).json()["items"]
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["acknowledged"]["data"]["assignee"] == member.email
    assert by_kind["note"]["data"]["body"] == NOTE
    assert "Apply a fix or a workaround" in by_kind["resolved"]["data"]["open_tasks"]
    tasks = client.get(f"/api/v1/incidents/{incident.ref}/tasks", **auth(token_for(member)))
    assert tasks.json()["items"][0]["done_by"] == member.email
    assert by_kind["note"]["label"] == "Internal note"
    assert all(len(i["hash"]) == 64 for i in items)
    assert [i["seq"] for i in items] == list(range(1, incident.timeline_seq + 1))


def test_undeclared_kinds_stay_with_the_team(contoso_incident):
    entry = contoso_incident.timeline.get(kind="note")
    assert entry_view(entry, Audience.STAKEHOLDERS) is None
    assert entry_view(entry, Audience.PUBLIC) is None
    assert kind_of("something_new").shown_to(Audience.STAKEHOLDERS) is False
    assert label("something_new") == "Something new"
    # every label is words, never the raw code
    assert all("_" not in kind.label for kind in KINDS.values())


def test_stakeholder_messages_are_built_from_what_stakeholders_may_see(
    contoso_incident, other_stakeholder, member, manager
):
    incident = _worked(contoso_incident, member)
    told = Delivery.objects.filter(incident=incident, trigger="resolved", audience="stakeholders")
    assert told.exists()
    for delivery in told:
        entry = delivery.context["entry"]
        assert entry["data"] == {"summary": "The proxy was restarted."}
        assert entry["actor"] != member.email
        saved = json.dumps([delivery.context, delivery.payload, delivery.body_markdown])
        assert member.email not in saved and "Apply a fix or a workaround" not in saved
    team = Delivery.objects.get(incident=incident, trigger="resolved", recipient=manager.email)
    assert "Apply a fix or a workaround" in team.context["entry"]["data"]["open_tasks"]


def test_export_names_every_entry_by_its_label(contoso_incident, member):
    record = export.incident_record(_worked(contoso_incident, member))
    assert [e["label"] for e in record["timeline"]][:3] == [
        "Reported",
        "Report details",
        "Stakeholder comment",
    ]
    text = export.as_markdown(record)
    assert "| Internal note |" in text and "| note |" not in text
