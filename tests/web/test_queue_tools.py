"""The queue's tools: saved views per person, and acknowledging or assigning many at once."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.test import Client

from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents.models import Incident, SavedView
from incidentdesk.incidents.services import incident_acknowledge, incident_report

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    found = re.findall(r'<li class="msg msg-\w+">(.*?)</li>', response.content.decode(), re.S)
    return [html_lib.unescape(m) for m in found]


def test_a_member_saves_a_view_sees_it_listed_and_deletes_it(client_for, member, member2):
    c = client_for(member)
    response = c.post(
        "/queue/views",
        {"name": "My P1s", "back": "severity=P1&assignee=me&after=abc&evil=1"},
        follow=True,
    )
    assert _messages(response) == ["Saved the view “My P1s”."]
    assert response.redirect_chain[-1][0] == "/?severity=P1&assignee=me"
    page = c.get("/").content.decode()
    assert '<a href="/?severity=P1&amp;assignee=me">My P1s</a>' in page
    view = SavedView.objects.get(user=member)
    audit = AuditEntry.objects.filter(kind="saved_view_saved").get()
    assert audit.actor == member and audit.data == {
        "name": "My P1s",
        "query": "severity=P1&assignee=me",
    }
    # saved for that person alone
    assert ">My P1s</a>" not in client_for(member2).get("/").content.decode()
    assert client_for(member2).post(f"/queue/views/{view.pk}/delete").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()

    response = c.post(f"/queue/views/{view.pk}/delete", {"back": "severity=P1"}, follow=True)
    assert _messages(response) == ["Deleted the view “My P1s”."]
    assert not SavedView.objects.exists()
    assert AuditEntry.objects.filter(kind="saved_view_deleted", actor=member).count() == 1


def test_saving_under_the_same_name_replaces_the_filters(client_for, member):
    c = client_for(member)
    c.post("/queue/views", {"name": "Mine", "back": "assignee=me"})
    c.post("/queue/views", {"name": "Mine", "back": "assignee=me&status=all"})
    assert list(SavedView.objects.values_list("name", "query")) == [
        ("Mine", "assignee=me&status=all")
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Name is required."), ("bad\x00name", "cannot contain a control character (U+0000)")],
)
def test_a_bad_view_name_is_refused_in_words(client_for, member, name, message):
    response = client_for(member).post("/queue/views", {"name": name}, follow=True)
    assert response.status_code == 200
    assert message in " ".join(_messages(response))
    assert not SavedView.objects.exists()


def test_bulk_acknowledge_reports_what_it_did_and_skipped(client_for, member, stakeholder):
    refs = [incident_report(by=stakeholder, title=f"Problem {n}").ref for n in range(4)]
    incident_acknowledge(by=member, incident=refs[3])
    response = client_for(member).post(
        "/queue/bulk",
        {"action": "acknowledge", "incidents": refs, "back": "status=open"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/?status=open"
    assert _messages(response) == [f"3 acknowledged, 1 skipped: {refs[3]} already acknowledged."]
    for ref in refs[:3]:
        incident = Incident.objects.get(pk=int(ref[4:]))
        assert incident.acknowledged_at is not None
        assert incident.timeline.filter(kind="acknowledged", actor=member).count() == 1


def test_bulk_assign_by_a_manager_and_to_oneself_by_a_member(
    client_for, manager, member, member2, stakeholder
):
    refs = [incident_report(by=stakeholder, title=f"Problem {n}").ref for n in range(2)]
    response = client_for(manager).post(
        "/queue/bulk",
        {"action": "assign", "incidents": refs, "assignee": member2.email},
        follow=True,
    )
    assert _messages(response) == ["2 assigned."]
    assert set(Incident.objects.values_list("assignee__email", flat=True)) == {member2.email}

    response = client_for(member).post(
        "/queue/bulk", {"action": "assign", "incidents": refs, "assignee": "me"}, follow=True
    )
    assert _messages(response) == ["2 assigned."]
    again = client_for(member).post(
        "/queue/bulk", {"action": "assign", "incidents": refs[:1], "assignee": "me"}, follow=True
    )
    assert _messages(again) == [
        f"0 assigned, 1 skipped: {refs[0]} already assigned to that person."
    ]


def test_a_member_may_not_assign_others_in_bulk(client_for, member, member2, stakeholder):
    ref = incident_report(by=stakeholder, title="Problem").ref
    response = client_for(member).post(
        "/queue/bulk",
        {"action": "assign", "incidents": [ref, "INC-999"], "assignee": member2.email},
        follow=True,
    )
    assert _messages(response) == [
        f"0 assigned, 2 skipped: {ref} not yours to change; INC-999 not found."
    ]
    assert Incident.objects.get().assignee is None


def test_bulk_skips_what_the_caller_cannot_see(client_for, member, stakeholder):
    ref = incident_report(by=stakeholder, title="Problem").ref
    response = client_for(member).post(
        "/queue/bulk",
        {"action": "acknowledge", "incidents": [ref, "INC-999", "nonsense"]},
        follow=True,
    )
    assert _messages(response) == [
        "1 acknowledged, 2 skipped: INC-999 not found; NONSENSE not found."
    ]


def test_bulk_needs_a_selection_and_a_bounded_one(client_for, member):
    c = client_for(member)
    none = c.post("/queue/bulk", {"action": "acknowledge"}, follow=True)
    assert _messages(none) == ["Select at least one incident."]
    many = [f"INC-{n}" for n in range(1, 102)]
    too_many = c.post("/queue/bulk", {"action": "acknowledge", "incidents": many}, follow=True)
    assert _messages(too_many) == ["Select at most 100 incidents at once."]
    unknown = c.post("/queue/bulk", {"action": "explode", "incidents": ["INC-1"]}, follow=True)
    assert _messages(unknown) == ["Choose what to do with the selected incidents."]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/queue/views", {"name": "x"}),
        ("/queue/views/1/delete", {}),
        ("/queue/bulk", {"action": "acknowledge", "incidents": ["INC-1"]}),
    ],
)
def test_who_may_not_use_the_queue_tools(client_for, stakeholder, member, path, data):
    ref = incident_report(by=stakeholder, title="Problem").ref
    data = {k: [ref] if k == "incidents" else v for k, v in data.items()}
    # a stakeholder is refused; nobody logged in is sent to log in; a GET is not an action
    assert client_for(stakeholder).post(path, data).status_code == 403
    assert client_for().post(path, data)["Location"].startswith("/login/")
    assert client_for(member).get(path).status_code == 405
    # a form without its CSRF token is refused
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert strict.post(path, data).status_code == 403
    assert not SavedView.objects.exists()
    assert Incident.objects.get().acknowledged_at is None
