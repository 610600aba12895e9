"""Policy steps 3 and 5 count the messages the communication plan delivered."""

from __future__ import annotations

from incidentdesk.incidents import services as s
from incidentdesk.incidents.steps import DONE, PENDING, policy_steps

from .conftest import deliver_due


def _state(incident, number):
    incident.refresh_from_db()
    return policy_steps(incident)[number - 1]


def test_step_3_is_done_once_manager_and_stakeholders_were_told(smtp, manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills down")
    assert _state(incident, 3).state == PENDING
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P1", impact="all", reason="r"
    )
    deliver_due()
    step = _state(incident, 3)
    assert step.state == DONE
    assert incident.timeline.get(seq=step.entry_seq).kind == "delivered"


def test_step_5_is_done_once_the_resolution_was_delivered(smtp, manager, member, stakeholder):
    incident = s.incident_report(by=stakeholder, title="Tills down")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few", reason="r"
    )
    s.incident_resolve(by=member, incident=incident, summary="Fixed.")
    assert _state(incident, 5).state == PENDING
    deliver_due()
    step = _state(incident, 5)
    assert step.state == DONE
    entry = incident.timeline.get(seq=step.entry_seq)
    assert (entry.kind, entry.data["trigger"]) == ("delivered", "resolved")
