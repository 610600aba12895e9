"""Rejecting a report as a duplicate from the incident page does what the merge does: the
kept incident lists the duplicate's organisations and its reporter follows it."""

from __future__ import annotations

import pytest

from incidentdesk.comms.models import Delivery
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.services import incident_reject, incident_report
from incidentdesk.portal.models import Follow

pytestmark = pytest.mark.django_db


def test_rejecting_as_duplicate_on_the_page_carries_the_reporters_organisation(
    client_for, manager, stakeholder, other_stakeholder
):
    kept = incident_report(by=stakeholder, title="Checkout fails with error 500")
    dup = incident_report(by=other_stakeholder, title="Cannot pay at the checkout")
    c = client_for(manager)
    r = c.post(
        f"/incidents/{dup.ref}/act/reject",
        {"reason": "Same problem", "duplicate_of": kept.ref, "version": dup.version},
    )
    assert r.status_code == 302
    kept = Incident.objects.get(pk=kept.pk)
    assert sorted(kept.affected_orgs.values_list("name", flat=True)) == ["Contoso", "Northwind"]
    assert Follow.objects.filter(incident=kept, user=other_stakeholder).exists()
    merged = kept.timeline.get(kind="merged")
    assert merged.data["organisations_added"] == ["Contoso"]
    told = Delivery.objects.get(key=f"portal-merged-{dup.pk}-{other_stakeholder.pk}")
    assert told.recipient == other_stakeholder.email
    page = c.get(f"/incidents/{kept.ref}").content.decode()
    assert "Contoso" in page
    # the reporter now reads the kept incident in the portal
    portal = client_for(other_stakeholder).get(f"/portal/{kept.ref}/")
    assert portal.status_code == 200


def test_a_plain_rejection_carries_nothing(manager, stakeholder, other_stakeholder):
    kept = incident_report(by=stakeholder, title="Checkout fails with error 500")
    other = incident_report(by=other_stakeholder, title="Printer out of paper")
    incident_reject(by=manager, incident=other.ref, reason="Not an incident")
    assert list(kept.affected_orgs.values_list("name", flat=True)) == ["Northwind"]
    assert not kept.timeline.filter(kind="merged").exists()
