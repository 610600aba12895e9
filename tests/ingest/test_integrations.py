"""Integrations: a manager creates one (the key is shown once, stored as a hash), the team
lists them, a manager revokes one; every change is in the audit log. The policy maps alert
severities to its own and `policy check` names an unknown one."""

from __future__ import annotations

import hashlib
import json

import pytest
import tomlkit

from incidentdesk.accounts.models import User
from incidentdesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from incidentdesk.core.models import AuditEntry
from incidentdesk.ingest import services
from incidentdesk.ingest.models import Integration
from incidentdesk.policy import loader
from incidentdesk.statuspage.services import component_create

from ..cli.helpers import initialised_template, run, sqlite_only  # noqa: F401
from ..policy.test_loader import DEFAULT, check, edited


def test_a_manager_creates_an_integration_whose_key_is_stored_only_as_a_hash(manager):
    component_create(by=manager, name="Checkout")
    raw, integration = services.integration_create(
        by=manager, name="Prometheus", component="Checkout", type="performance"
    )
    assert len(raw) == 32
    stored = Integration.objects.get()
    assert stored == integration
    assert stored.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.prefix == raw[:8]
    assert (stored.component, stored.type, stored.auto_resolve) == (
        "Checkout",
        "performance",
        False,
    )
    assert not Integration.objects.filter(digest=raw).exists()
    assert services.integration_for_key(raw) == stored
    assert stored.actor.display_name == "Prometheus (integration)"
    assert not stored.actor.has_usable_password()
    entry = AuditEntry.objects.get(kind="integration_created")
    assert entry.actor == manager
    assert entry.data["integration"] == "Prometheus"
    assert raw not in json.dumps(entry.data)


def test_a_member_may_list_but_not_create_and_nothing_is_written(member, manager):
    services.integration_create(by=manager, name="Grafana")
    users_before = User.objects.count()
    with pytest.raises(PermissionDenied):
        services.integration_create(by=member, name="Zabbix")
    assert [i.name for i in services.integration_list(by=member)] == ["Grafana"]
    assert User.objects.count() == users_before
    assert Integration.objects.count() == 1
    assert AuditEntry.objects.filter(kind="integration_created").count() == 1


def test_a_stakeholder_may_not_even_list(stakeholder):
    with pytest.raises(PermissionDenied):
        services.integration_list(by=stakeholder)


def test_every_mistake_is_named_and_nothing_is_written(manager):
    with pytest.raises(InvalidInput) as caught:
        services.integration_create(by=manager, name=" ", component="Nowhere", type="hardware")
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("name", "Name is required."),
        ("component", "No status page component 'Nowhere' (known: none yet)."),
        (
            "type",
            "Unknown type 'hardware' (known: functionality, security, performance, maintenance).",
        ),
    ]
    services.integration_create(by=manager, name="Grafana")
    with pytest.raises(Conflict):
        services.integration_create(by=manager, name="Grafana")
    assert Integration.objects.count() == 1
    assert AuditEntry.objects.filter(kind="integration_created").count() == 1


def test_a_revoked_key_is_refused_and_the_revocation_audited(manager, member):
    raw, integration = services.integration_create(by=manager, name="Uptime Kuma")
    with pytest.raises(PermissionDenied):
        services.integration_revoke(by=member, name="Uptime Kuma")
    assert services.integration_for_key(raw) == integration
    services.integration_revoke(by=manager, name="Uptime Kuma")
    assert services.integration_for_key(raw) is None
    assert services.integration_list(by=manager) == []
    integration.actor.refresh_from_db()
    assert integration.actor.is_active is False
    assert AuditEntry.objects.filter(kind="integration_revoked").count() == 1
    with pytest.raises(NotFound):
        services.integration_revoke(by=manager, name="Uptime Kuma")


# -- the policy's severity mapping ------------------------------------------------------------


def test_the_default_policy_maps_pagerduty_severities():
    policy = loader.parse(loader.DEFAULT_POLICY_PATH.read_text())
    assert [policy.ingest.severity_of(s) for s in ("critical", "ERROR", "warning", "info")] == [
        "P1",
        "P2",
        "P3",
        "P3",
    ]
    assert policy.ingest.severity_of("disaster") is None


def test_policy_check_names_an_unknown_severity_in_the_ingest_mapping(tmp_path):
    def change(d):
        d["ingest"]["severity"]["critical"] = "P0"

    out, err = check(tmp_path, edited(change))
    assert out == ""
    assert f'{tmp_path / "policy.toml"}: ingest.severity.critical: unknown severity "P0" ' in err
    assert "1 problem found" in err
    assert DEFAULT["ingest"]["severity"]["critical"] == "P1"
    assert "ingest" in tomlkit.dumps(DEFAULT)


# -- the JSON API -----------------------------------------------------------------------------


def _call(client, method, path, token, body=None):
    return getattr(client, method)(
        f"/api/v1{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_api_creates_lists_and_revokes(client, manager, member, stakeholder, token_for):
    mg, m, s = token_for(manager), token_for(member), token_for(stakeholder)
    refused = _call(client, "post", "/integrations", m, {"name": "Grafana"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role may not manage."
    assert not Integration.objects.exists()

    created = _call(client, "post", "/integrations", mg, {"name": "Grafana", "type": "x"})
    assert created.status_code == 422
    assert created.json()["errors"][0]["field"] == "type"
    created = _call(client, "post", "/integrations", mg, {"name": "Grafana"})
    assert created.status_code == 201
    body = created.json()
    assert services.integration_for_key(body["routing_key"]).name == "Grafana"
    assert body["key_prefix"] == body["routing_key"][:8]

    listed = _call(client, "get", "/integrations", m)
    assert listed.status_code == 200
    assert [(i["name"], "routing_key" in i) for i in listed.json()] == [("Grafana", False)]
    assert _call(client, "get", "/integrations", s).status_code == 403

    assert _call(client, "delete", f"/integrations/{body['id']}", m).status_code == 403
    revoked = _call(client, "delete", f"/integrations/{body['id']}", mg)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert _call(client, "delete", f"/integrations/{body['id']}", mg).status_code == 404
    assert _call(client, "get", "/integrations", m).json() == []


# -- the command line -------------------------------------------------------------------------


@sqlite_only
def test_the_command_creates_lists_and_revokes(initialised_template, tmp_path):  # noqa: F811
    import shutil
    import sqlite3

    data_dir = tmp_path / "data"
    shutil.copytree(initialised_template, data_dir)
    done = run(data_dir, "integration", "create", "Prometheus")
    key = done.stdout.strip().splitlines()[-1]
    assert len(key) == 32
    assert "not shown again" in done.stderr
    with sqlite3.connect(data_dir / "incidentdesk.sqlite3") as db:
        rows = db.execute("SELECT name, digest FROM ingest_integration").fetchall()
    assert rows == [("Prometheus", hashlib.sha256(key.encode()).hexdigest())]

    refused = run(data_dir, "integration", "create", "Grafana", "--component", "Nope", check=False)
    assert refused.returncode == 1
    assert "No status page component 'Nope'" in refused.stderr

    listed = run(data_dir, "integration", "list").stdout
    assert listed.startswith(f"Prometheus\t{key[:8]}…\tcreated ")
    assert key not in listed

    assert "revoked" in run(data_dir, "integration", "revoke", "Prometheus").stdout
    assert run(data_dir, "integration", "list").stdout.strip() == "No integrations."
    again = run(data_dir, "integration", "revoke", "Prometheus", check=False)
    assert again.returncode == 1
    assert "No active integration named 'Prometheus'." in again.stderr
