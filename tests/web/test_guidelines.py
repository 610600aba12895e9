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
