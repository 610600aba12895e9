"""Components, groups, and the components an incident affects."""

from __future__ import annotations

import pytest

from incidentdesk.core.errors import InvalidInput, NotFound, PermissionDenied
from incidentdesk.incidents.services import incident_report
from incidentdesk.statuspage import services
from incidentdesk.statuspage.models import Component, ComponentStatus, IncidentComponent


def test_statuspage_has_exactly_statuspages_five_component_statuses():
    assert ComponentStatus.values == [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ]


def test_manager_creates_a_component_in_a_group(manager):
    group = services.group_create(by=manager, name="Platform")
    api = services.component_create(
        by=manager, name="API", description="Public API", group="Platform"
    )
    assert api.group == group
    assert api.status == "operational"
    assert api.manual is False


def test_member_may_not_create_components(member):
    with pytest.raises(PermissionDenied):
        services.component_create(by=member, name="API")
    assert not Component.objects.exists()


def test_component_create_refuses_an_unknown_status_and_a_blank_name(manager):
    with pytest.raises(InvalidInput) as exc:
        services.component_create(by=manager, name=" ", status="broken")
    assert {e.field for e in exc.value.errors} == {"name", "status"}


def test_setting_a_status_by_hand_marks_the_component_manual(manager):
    api = services.component_create(by=manager, name="API")
    api = services.component_update(by=manager, component=api.pk, status="partial_outage")
    assert (api.status, api.manual) == ("partial_outage", True)
    api = services.component_update(by=manager, component=api.pk, manual=False)
    assert (api.status, api.manual) == ("operational", False)


def test_member_links_an_incident_to_a_component_on_its_timeline(member, manager):
    api = services.component_create(by=manager, name="API")
    incident = incident_report(by=member, title="API errors")
    link = services.incident_link_component(
        by=member, incident=incident.ref, component=api.pk, status="degraded_performance"
    )
    assert IncidentComponent.objects.get() == link
    entry = incident.timeline.order_by("-seq").first()
    assert entry.kind == "statuspage_component_linked"
    assert entry.data["component"] == "API"
    # not published yet: the component's public status must not give the incident away
    api.refresh_from_db()
    assert api.status == "operational"


def test_linking_an_unknown_component_is_not_found(member):
    incident = incident_report(by=member, title="API errors")
    with pytest.raises(NotFound):
        services.incident_link_component(by=member, incident=incident.ref, component=999)


def test_stakeholder_may_not_link_components(stakeholder, manager):
    api = services.component_create(by=manager, name="API")
    incident = incident_report(by=stakeholder, title="API errors")
    with pytest.raises(PermissionDenied):
        services.incident_link_component(by=stakeholder, incident=incident.ref, component=api.pk)
    assert not IncidentComponent.objects.exists()
