"""The team's Integrations page: a manager creates one and sees its key once, and revokes it;
a member reads the list only; a stakeholder may not open it. Refused posts write nothing."""

from __future__ import annotations

import re

from incidentdesk.core.models import AuditEntry
from incidentdesk.ingest.models import Integration
from incidentdesk.ingest.services import integration_for_key


def test_a_manager_creates_an_integration_sees_its_key_once_and_revokes_it(client, manager):
    client.force_login(manager)
    created = client.post("/oncall/integrations/", {"name": "Prometheus", "type": "performance"})
    assert created.status_code == 200
    page = created.content.decode()
    (key,) = re.findall(r"<code class=\"long-link\">([0-9a-f]{32})</code>", page)
    assert f"/api/v1/integrations/{key}/alertmanager" in page
    assert integration_for_key(key).name == "Prometheus"
    later = client.get("/oncall/integrations/").content.decode()
    assert key not in later
    assert f"<code>{key[:8]}…</code>" in later

    integration = Integration.objects.get()
    revoked = client.post(f"/oncall/integrations/{integration.pk}/revoke", follow=True)
    assert revoked.status_code == 200
    assert "No integrations yet." in revoked.content.decode()
    assert integration_for_key(key) is None
    assert list(
        AuditEntry.objects.filter(kind__startswith="integration_")
        .values_list("kind", flat=True)
        .order_by("seq")
    ) == [
        "integration_created",
        "integration_revoked",
    ]


def test_a_mistake_is_said_and_nothing_is_created(client, manager):
    client.force_login(manager)
    refused = client.post("/oncall/integrations/", {"name": "Prometheus", "type": "hardware"})
    assert refused.status_code == 422
    assert "Unknown type" in refused.content.decode()
    assert not Integration.objects.exists()


def test_a_member_reads_the_list_and_may_not_create_or_revoke(client, manager, member):
    client.force_login(manager)
    client.post("/oncall/integrations/", {"name": "Prometheus"})
    integration = Integration.objects.get()
    client.force_login(member)
    page = client.get("/oncall/integrations/").content.decode()
    assert "Prometheus" in page
    assert "Create integration" not in page and "Revoke" not in page
    assert client.post("/oncall/integrations/", {"name": "Grafana"}).status_code == 403
    assert client.post(f"/oncall/integrations/{integration.pk}/revoke").status_code == 403
    assert list(Integration.objects.values_list("name", "revoked_at")) == [("Prometheus", None)]


def test_a_stakeholder_and_a_stranger_may_not_open_it(client, stakeholder):
    assert client.get("/oncall/integrations/").status_code == 302  # to the login page
    client.force_login(stakeholder)
    assert client.get("/oncall/integrations/").status_code == 403
    assert client.post("/oncall/integrations/", {"name": "Grafana"}).status_code == 403
    assert not Integration.objects.exists()
