"""Fixtures for the status page: components and a published incident, made by the services."""

from __future__ import annotations

import pytest

from incidentdesk.incidents.services import (
    incident_categorize,
    incident_post_update,
    incident_report,
)
from incidentdesk.statuspage import cache, services


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_component(manager):
    return services.component_create(by=manager, name="API", description="The public API")


@pytest.fixture
def web_component(manager):
    services.group_create(by=manager, name="Frontends")
    return services.component_create(by=manager, name="Website", group="Frontends")


@pytest.fixture
def published(member, api_component):
    """A P2 Functionality incident on the page, with one public update, affecting the API."""
    incident = incident_report(by=member, title="Slow API responses")
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="partial_outage"
    )
    services.incident_publish(by=member, incident=incident.ref)
    incident_post_update(
        by=member, incident=incident.ref, status="identified", body="A database node is overloaded."
    )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def private_incident(member, api_component):
    """A Security incident (private by policy) that links a component: it must never leak."""
    incident = incident_report(by=member, title="SECRET-TOKEN-LEAK credentials exposed")
    incident_categorize(
        by=member, incident=incident.ref, type="security", severity="P1", impact="all"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="major_outage"
    )
    incident_post_update(
        by=member, incident=incident.ref, status="investigating", body="SECRET-TOKEN-LEAK detail"
    )
    incident.refresh_from_db()
    return incident
