"""Deliveries write timeline entries while people work the incident. Those entries are the
system's record, not a change of the incident: a form loaded before them still acts, and an
open page shows them without asking the user to reload."""

from __future__ import annotations

from incidentdesk.comms.models import Delivery
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident

from .conftest import deliver_due


def _updated_incident(member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few", reason="r"
    )
    s.incident_post_update(by=member, incident=incident, status="identified", body="Found it.")
    return Incident.objects.get(pk=incident.pk)


def test_a_form_loaded_before_deliveries_still_acts(db, smtp, member, stakeholder):
    incident = _updated_incident(member, stakeholder)
    loaded_version = incident.version
    assert Delivery.objects.filter(incident=incident, state="queued").exists()

    assert set(deliver_due()) == {"sent"}
    assert incident.timeline.filter(kind="delivered").exists()

    s.incident_add_note(
        by=member, incident=incident.ref, body="Rollback started", expected_version=loaded_version
    )
    assert incident.timeline.filter(kind="note", data__body="Rollback started").exists()


def test_a_change_by_a_person_still_makes_an_older_form_stale(db, smtp, member, stakeholder):
    from incidentdesk.core.errors import Conflict

    incident = _updated_incident(member, stakeholder)
    loaded_version = incident.version
    s.incident_add_note(by=member, incident=incident.ref, body="First", expected_version=None)
    try:
        s.incident_add_note(
            by=member, incident=incident.ref, body="Second", expected_version=loaded_version
        )
    except Conflict as exc:
        assert "changed by someone else" in str(exc)
    else:
        raise AssertionError("a form older than a person's change was accepted")
    assert not incident.timeline.filter(kind="note", data__body="Second").exists()


def test_open_page_shows_deliveries_without_asking_to_reload(client, db, smtp, member, stakeholder):
    incident = _updated_incident(member, stakeholder)
    client.force_login(member)
    live = f"/incidents/{incident.ref}/live?v={incident.version}&since={incident.timeline_seq}"
    assert client.get(live).status_code == 204

    deliver_due()

    response = client.get(live)
    assert response.status_code == 200
    html = response.content.decode()
    sent = incident.timeline.filter(kind="delivered").count()
    assert sent > 0
    assert f"{sent} deliver{'ies' if sent != 1 else 'y'}: {sent} sent, 0 failed" in html
    assert "was just updated" not in html
    every = client.get(f"{live}&kind=all").content.decode()
    assert "Stakeholder update by email to" in every

    s.incident_add_note(by=member, incident=incident.ref, body="Rollback started")
    html = client.get(live).content.decode()
    assert "was just updated" in html
