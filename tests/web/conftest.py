from __future__ import annotations

import pytest
from django.test import Client

from incidentdesk.incidents.services import incident_report


@pytest.fixture
def client_for():
    def make(user=None):
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def reported(stakeholder, other_stakeholder):
    """Reported by one of two organisations, so the policy suggests impact "1 to 2"."""
    return incident_report(
        by=stakeholder, title="Checkout fails with error 500", description="Since 9:00."
    )
