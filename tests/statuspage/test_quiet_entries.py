"""The periodic checks' entries on a published incident leave the public page as it is: at
years of history a run writes hundreds of them, and each change re-renders the page."""

from __future__ import annotations

from django.db import transaction

from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.statuspage.models import PageState


def _version() -> int:
    state = PageState.objects.filter(pk=1).first()
    return state.version if state else 0


def _append(incident: Incident, kind: str) -> None:
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        timeline.append(locked, kind=kind, by=None, data={"target": "update"})
        locked.save()


def test_system_entries_leave_the_page_alone_and_a_change_moves_it(published):

    before = _version()
    for kind in ("sla_due_soon", "sla_breached", "action_item_overdue", "review_due"):
        _append(published, kind)
    assert _version() == before
    _append(published, "severity_changed")
    assert _version() > before
