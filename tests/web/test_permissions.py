"""Every workspace page and form, asked by every role and by nobody."""

from __future__ import annotations

import pytest

from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.services import incident_resolve

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "member", "stakeholder", None]


def _user(request, who):
    return request.getfixturevalue(who) if who else None


def page_urls(ref):
    return [
        f"/incidents/{ref}",
        f"/incidents/{ref}/live?v=0",
        f"/incidents/{ref}/triage?type=security&impact=few",
        "/queue/live?stamp=0",
        "/guidelines/",
        "/guidelines/in-place/",
    ]


@pytest.mark.parametrize("who", ROLES)
def test_pages_by_role(client_for, request, who, reported):
    c = client_for(_user(request, who))
    root = c.get("/")
    for url in page_urls(reported.ref):
        r = c.get(url)
        if who is None:
            assert r.status_code == 302 and r.url.startswith("/login/"), url
        elif who == "stakeholder":
            assert r.status_code == 403, url
        else:
            assert r.status_code == 200, url
    if who is None:
        assert root.url.startswith("/login/")
    elif who == "stakeholder":
        assert root.url == "/portal/"
    else:
        assert root.status_code == 200


ACTIONS = {
    "acknowledge": {},
    "triage": {"type": "functionality", "impact": "few", "severity": "P3"},
    "assign": {"self": "1"},
    "status": {"status": "investigating"},
    "note": {"body": "hello"},
    "request-info": {"question": "Which browser?"},
    "resolve": {"summary": "fixed"},
    "close": {},
    "reject": {"reason": "not ours"},
    "reopen": {"reason": "again"},
    "task": {"task": "1", "state": "done"},
}


@pytest.mark.parametrize("who", ["stakeholder", None])
def test_outsiders_cannot_act(client_for, request, who, reported):
    c = client_for(_user(request, who))
    before = TimelineEntry.objects.count()
    for action, data in ACTIONS.items():
        r = c.post(f"/incidents/{reported.ref}/act/{action}", {"version": reported.version, **data})
        if who is None:
            assert r.status_code == 302 and r.url.startswith("/login/"), action
        else:
            assert r.status_code == 403, action
    assert TimelineEntry.objects.count() == before


def test_member_cannot_close_or_assign_others(client_for, member, member2, reported):
    c = client_for(member)
    c.post(
        f"/incidents/{reported.ref}/act/triage",
        {"version": reported.version, **ACTIONS["triage"]},
    )
    reported.refresh_from_db()
    incident_resolve(by=member, incident=reported.ref, summary="fixed")
    reported.refresh_from_db()
    page = c.get(f"/incidents/{reported.ref}").content.decode()
    assert "Close incident" not in page
    before = TimelineEntry.objects.count()
    r = c.post(f"/incidents/{reported.ref}/act/close", {"version": reported.version})
    assert r.status_code == 403
    r = c.post(
        f"/incidents/{reported.ref}/act/assign",
        {"version": reported.version, "assignee": member2.email},
    )
    assert r.status_code == 403
    assert TimelineEntry.objects.count() == before
    assert Incident.objects.get(pk=reported.pk).status == "resolved"


def test_member_takes_roles_manager_hands_any_over(client_for, member, manager, reported):
    page = client_for(member).get(f"/incidents/{reported.ref}").content.decode()
    assert "Take incident lead" in page and "Take communications lead" in page
    assert 'name="note"' not in page  # a member hands over only a role they hold
    page = client_for(manager).get(f"/incidents/{reported.ref}").content.decode()
    assert 'name="note"' in page and '<option value="comms"' in page


@pytest.mark.parametrize("ref", ["INC-999", "nonsense", "INC-0"])
def test_unknown_incident_is_404(client_for, member, reported, ref):
    c = client_for(member)
    assert c.get(f"/incidents/{ref}").status_code == 404
    assert c.post(f"/incidents/{ref}/act/note", {"version": 1, "body": "x"}).status_code == 404


def test_unknown_action_is_404(client_for, member, reported):
    r = client_for(member).post(f"/incidents/{reported.ref}/act/explode", {"version": 1})
    assert r.status_code == 404


def test_forms_need_csrf(member, reported):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(member)
    r = c.post(f"/incidents/{reported.ref}/act/note", {"version": 1, "body": "x"})
    assert r.status_code == 403
    assert not TimelineEntry.objects.filter(kind="note").exists()


def test_note_markdown_renders_inert(client_for, member, reported):
    c = client_for(member)
    body = '<script>alert("x")</script> <img src=x onerror="alert(1)"> [click](javascript:alert(1))'
    c.post(f"/incidents/{reported.ref}/act/note", {"version": reported.version, "body": body})
    page = c.get(f"/incidents/{reported.ref}").content.decode()
    notes = page[page.index('id="notes"') : page.index('id="note-body"')]
    assert "<script>alert" not in notes
    assert "<img" not in notes
    assert 'href="javascript' not in notes
    assert "&lt;script&gt;" in notes
