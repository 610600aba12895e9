"""The periodic checks' entries on a published incident leave the public page as it is: at
years of history a run writes hundreds of them, and each change re-renders the page."""

from __future__ import annotations

from django.db import transaction

from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.services import incident_categorize, incident_report
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import PageState


def _version() -> int:
    state = PageState.objects.filter(pk=1).first()
    return state.version if state else 0


def _append(incident: Incident, kind: str) -> None:
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        timeline.append(locked, kind=kind, by=None, data={"target": "update"})
        locked.save()


def test_system_entries_leave_the_page_alone_and_a_public_update_moves_it(member, api_component):
    incident = incident_report(by=member, title="Slow API responses")
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="partial_outage"
    )
    services.incident_publish(by=member, incident=incident.ref)
    before = _version()
    for kind in ("sla_due_soon", "sla_breached", "action_item_overdue", "review_due"):
        _append(incident, kind)
    assert _version() == before
    _append(incident, "severity_changed")
    assert _version() > before
