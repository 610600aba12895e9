"""The roles in an incident: the incident lead and the communications lead, handed over with a
note, shown to the team and never to stakeholders."""

from __future__ import annotations

import pytest
from django.test import Client

from incidentdesk.core.errors import Conflict, InvalidInput, PermissionDenied
from incidentdesk.incidents import roles
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident

from .conftest import writes_nothing

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(stakeholder):
    return s.incident_report(by=stakeholder, title="Tills cannot sync", description="Since 9:00.")


@pytest.fixture(autouse=True)
def _names(member, member2, manager):
    for user, first in ((member, "Alex"), (member2, "Sam"), (manager, "Morgan")):
        user.first_name = first
        user.save(update_fields=["first_name"])


def _api(user, token_for):
    return Client(headers={"authorization": f"Bearer {token_for(user)}"})


def test_the_lead_hands_over_with_a_note(incident, member, member2):
    roles.incident_hand_over(by=member, incident=incident.ref, role="lead", to=member.email)
    roles.incident_hand_over(
        by=member, incident=incident.ref, role="lead", to=member2.email, note="Logs are in S3."
    )
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.assignee == member2
    entry = incident.timeline.filter(kind="assigned").last()
    assert entry.data == {"from": member.email, "to": member2.email, "note": "Logs are in S3."}


def test_a_member_takes_communications_and_a_manager_gives_any_role(incident, member, manager):
    roles.incident_hand_over(by=member, incident=incident.ref, role="comms", to=member.email)
    incident.refresh_from_db()
    assert incident.comms_lead == member
    roles.incident_hand_over(by=manager, incident=incident.ref, role="lead", to=member.email)
    entry = incident.timeline.get(kind="comms_lead_assigned")
    assert entry.data == {"from": None, "to": member.email}


def test_a_member_may_not_give_a_role_they_do_not_hold(incident, member, member2, manager):
    roles.incident_hand_over(by=manager, incident=incident.ref, role="lead", to=member2.email)
    with writes_nothing(), pytest.raises(PermissionDenied):
        roles.incident_hand_over(by=member, incident=incident.ref, role="lead", to=manager.email)


def test_a_stakeholder_holds_no_role_and_gives_none(incident, stakeholder, member):
    with writes_nothing(), pytest.raises(PermissionDenied):
        roles.incident_hand_over(
            by=stakeholder, incident=incident.ref, role="lead", to=member.email
        )
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        roles.incident_hand_over(
            by=member, incident=incident.ref, role="comms", to=stakeholder.email
        )
    assert caught.value.errors[0].field == "to"


def test_roles_do_not_change_on_a_rejected_incident(incident, manager, member):
    s.incident_reject(by=manager, incident=incident.ref, reason="Not ours")
    with writes_nothing(), pytest.raises(Conflict):
        roles.incident_hand_over(by=manager, incident=incident.ref, role="comms", to=member.email)


def test_api_sets_roles_and_lists_mine(incident, member, member2, stakeholder, token_for):
    other = s.incident_report(by=stakeholder, title="Printer jam", description="")
    third = s.incident_report(by=stakeholder, title="Email slow", description="")
    api = _api(member, token_for)
    r = api.post(
        f"/api/v1/incidents/{incident.ref}/roles",
        {"role": "comms", "to": member.email, "note": "I have the wording"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["comms_lead"] == member.email and r.json()["assignee"] is None
    roles.incident_hand_over(by=member, incident=other.ref, role="lead", to=member.email)
    roles.incident_hand_over(by=member2, incident=third.ref, role="lead", to=member2.email)
    mine = api.get("/api/v1/incidents", {"mine": "1"}).json()["items"]
    assert [i["ref"] for i in mine] == [other.ref, incident.ref]
    theirs = _api(member2, token_for).get("/api/v1/incidents?mine=true").json()["items"]
    assert [i["ref"] for i in theirs] == [third.ref]


def test_stakeholders_never_see_who_holds_a_role(incident, member, member2, stakeholder, token_for):
    roles.incident_hand_over(by=member, incident=incident.ref, role="lead", to=member.email)
    roles.incident_hand_over(
        by=member, incident=incident.ref, role="lead", to=member2.email, note="Over to Sam"
    )
    roles.incident_hand_over(by=member2, incident=incident.ref, role="comms", to=member2.email)
    api = _api(stakeholder, token_for)
    seen = api.get(f"/api/v1/incidents/{incident.ref}").json()
    assert seen["assignee"] is None and seen["comms_lead"] is None
    timeline = api.get(f"/api/v1/incidents/{incident.ref}/timeline").content.decode()
    portal = Client()
    portal.force_login(stakeholder)
    page = portal.get(f"/portal/{incident.ref}/").content.decode()
    for text in (timeline, page):
        for secret in ("Sam", "Alex", member.email, member2.email, "Over to Sam"):
            assert secret not in text


@pytest.mark.parametrize("caller", ["stakeholder", "anonymous"])
def test_who_may_not_set_roles_over_the_api(caller, incident, member, stakeholder, token_for):
    client = _api(stakeholder, token_for) if caller == "stakeholder" else Client()
    with writes_nothing():
        r = client.post(
            f"/api/v1/incidents/{incident.ref}/roles",
            {"role": "lead", "to": member.email},
            content_type="application/json",
        )
    assert r.status_code == (403 if caller == "stakeholder" else 401)
    assert r.json()["detail"]


def test_the_page_the_queue_and_the_timeline_show_the_roles(incident, member, member2):
    c = Client()
    c.force_login(member)
    page = c.get(f"/incidents/{incident.ref}").content.decode()
    assert "No incident lead" in page and "Take incident lead" in page
    r = c.post(
        f"/incidents/{incident.ref}/act/roles",
        {"role": "lead", "to": member.email, "version": incident.version},
    )
    assert r.status_code == 302
    incident.refresh_from_db()
    r = c.post(
        f"/incidents/{incident.ref}/act/roles",
        {
            "role": "lead",
            "to": member2.email,
            "note": "Logs are in S3",
            "version": incident.version,
        },
    )
    assert r.status_code == 302
    page = c.get(f"/incidents/{incident.ref}").content.decode()
    assert "Incident lead: Sam" in page
    assert "Alex handed the lead to Sam: Logs are in S3" in page
    queue = c.get("/", {"mine": "1", "status": "all"}).content.decode()
    assert f">{incident.ref}</a>" not in queue
    sam = Client()
    sam.force_login(member2)
    queue = sam.get("/", {"mine": "1"}).content.decode()
    assert f">{incident.ref}</a>" in queue and "Sam" in queue


@pytest.mark.parametrize("hostile", ["sam\x00@spacewise.test", "\ud800@spacewise.test"])
def test_hostile_addresses_are_refused_with_a_422(incident, member, hostile):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        roles.incident_hand_over(by=member, incident=incident.ref, role="lead", to=hostile)
    assert caught.value.errors[0].field == "to"
    c = Client()
    c.force_login(member)
    with writes_nothing():
        r = c.post(
            f"/incidents/{incident.ref}/act/roles",
            {"role": "lead", "to": hostile.replace("\ud800", "x\x00"), "version": incident.version},
        )
    assert r.status_code in (200, 400, 422)
