from __future__ import annotations

import pytest

from incidentdesk.policy.models import PolicyVersion
from incidentdesk.policy.selectors import active_policy

pytestmark = pytest.mark.django_db


def _version():
    return PolicyVersion.objects.get(active=True).pk


def test_manager_creates_and_edits_a_guideline(client_for, manager):
    c = client_for(manager)
    html = c.get("/guidelines/in-place/").content.decode()
    assert "Functionality P1" in html and "no guideline at all" not in html
    r = c.post(
        "/guidelines/new/",
        {
            "type": "functionality",
            "severity": "P1",
            "steps": "Page the on-call engineer\n\nRoll back the last release\n",
            "policy_version": _version(),
        },
    )
    assert r.status_code == 302
    _, policy = active_policy()
    g = policy.guideline_for("functionality", "P1")
    assert g is not None and g.steps == ["Page the on-call engineer", "Roll back the last release"]
    assert "Page the on-call engineer" in c.get("/guidelines/").content.decode()
    r = c.post(
        "/guidelines/functionality/P1/",
        {
            "type": "functionality",
            "severity": "P1",
            "steps": "Page the on-call engineer",
            "policy_version": _version(),
        },
    )
    assert r.status_code == 302
    _, policy = active_policy()
    assert policy.guideline_for("functionality", "P1").steps == ["Page the on-call engineer"]
    assert PolicyVersion.objects.count() == 3


def test_duplicate_and_empty_guidelines_are_refused(client_for, manager):
    c = client_for(manager)
    before = PolicyVersion.objects.count()
    r = c.post(
        "/guidelines/new/",
        {"type": "functionality", "severity": "", "steps": "x", "policy_version": _version()},
    )
    assert "exists already" in r.content.decode()
    r = c.post(
        "/guidelines/new/",
        {"type": "performance", "severity": "P1", "steps": "  \n", "policy_version": _version()},
    )
    assert "This field is required" in r.content.decode()
    assert PolicyVersion.objects.count() == before


def test_stale_guideline_form_keeps_the_text(client_for, manager):
    c = client_for(manager)
    r = c.post(
        "/guidelines/new/",
        {
            "type": "performance",
            "severity": "P1",
            "steps": "Scale out now",
            "policy_version": _version() - 1,
        },
    )
    assert r.status_code == 409
    assert "Scale out now" in r.content.decode()
    assert active_policy()[1].guideline_for("performance", "P1").severity is None


@pytest.mark.parametrize("who", ["member", "stakeholder", None])
def test_only_managers_edit(client_for, request, who):
    user = request.getfixturevalue(who) if who else None
    c = client_for(user)
    before = PolicyVersion.objects.count()
    r = c.post(
        "/guidelines/new/",
        {"type": "performance", "severity": "P1", "steps": "x", "policy_version": _version()},
    )
    assert r.status_code == (302 if who is None else 403)
    if who is None:
        assert r.url.startswith("/login/")
    assert PolicyVersion.objects.count() == before
    r = c.get("/guidelines/")
    expected = {"member": 200, "stakeholder": 403, None: 302}[who]
    assert r.status_code == expected
    if who == "member":
        assert "New guideline" not in r.content.decode()


def test_an_edit_keeps_the_policy_files_comments_and_layout(client_for, manager):
    before = PolicyVersion.objects.get(active=True).text
    assert "# " in before  # the default policy explains itself in comments
    c = client_for(manager)
    r = c.post(
        "/guidelines/performance/any/",
        {
            "type": "performance",
            "severity": "",
            "steps": "Confirm the slowdown on dashboards\nScale out the busiest tier",
            "policy_version": _version(),
        },
    )
    assert r.status_code == 302
    after = PolicyVersion.objects.get(active=True).text
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)
    assert '\n  "Scale out the busiest tier",\n' in after
    # only the edited checklist changed
    assert [line for line in before.splitlines() if line not in after.splitlines()] != []
    assert len(after.splitlines()) - len(before.splitlines()) < 10


def test_manager_deletes_a_guideline_after_confirming(client_for, manager, member):
    from incidentdesk.core.models import AuditEntry

    c = client_for(manager)
    page = c.get("/guidelines/security/P1/delete/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete the guideline for Security P1?" in html
    assert "Page the security lead" in html
    assert active_policy()[1].guideline_for("security", "P1").severity == "P1"

    # a member may neither see the question nor delete
    m = client_for(member)
    assert m.get("/guidelines/security/P1/delete/").status_code == 403
    assert (
        m.post("/guidelines/security/P1/delete/", {"policy_version": _version()}).status_code == 403
    )
    assert active_policy()[1].guideline_for("security", "P1").severity == "P1"

    # a stale confirmation deletes nothing
    r = c.post("/guidelines/security/P1/delete/", {"policy_version": _version() - 1})
    assert r.status_code == 302 and "/delete/" in r.url
    assert active_policy()[1].guideline_for("security", "P1").severity == "P1"

    r = c.post("/guidelines/security/P1/delete/", {"policy_version": _version()})
    assert r.status_code == 302 and r.url == "/guidelines/"
    _, policy = active_policy()
    # P1 security incidents now get the general security checklist
    assert policy.guideline_for("security", "P1").severity is None
    entry = AuditEntry.objects.filter(kind="guideline_deleted").get()
    assert entry.data["type"] == "security" and entry.data["severity"] == "P1"
    assert c.get("/guidelines/security/P1/delete/").status_code == 404
