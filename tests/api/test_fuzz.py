"""Property-based fuzzing of the JSON API at /api/v1 with schemathesis.

Every operation of the OpenAPI schema is called in-process through the WSGI application as a
member, as a stakeholder (each with a bearer token) and without credentials. Whatever the
input, the API must not answer 5xx, a 2xx must match the schema it declares, a 4xx must
carry the error body of `incidentdesk.core.api` ({"detail": str, "errors": [{field,
message}]}), and an operation that needs credentials answers 401 without them.

Under CI=true the examples are derandomized, so CI fails only on a change of the product; a
local run draws new ones each time.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from incidentdesk.accounts.services import token_create, user_create
from incidentdesk.comms.models import Channel, Delivery
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, Task
from incidentdesk.portal.models import Attachment
from incidentdesk.reviews.models import ActionItem
from incidentdesk.statuspage.models import Component, Maintenance
from incidentdesk.wsgi import application

# Per operation and caller; CI runs the module twice (SQLite, PostgreSQL). Raise it for a
# deeper local search: INCIDENTDESK_FUZZ_EXAMPLES=200 pytest tests/api
MAX_EXAMPLES = int(os.environ.get("INCIDENTDESK_FUZZ_EXAMPLES", "15"))

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "generation": {
            "max-examples": MAX_EXAMPLES,
            # Credentials are the test's to choose: a generated bearer would blur the roles.
            "with-security-parameters": False,
            "database": "none",
            "deterministic": os.environ.get("CI") == "true",
        },
    }
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)

# Path parameters that name an existing row now and then, so that the fuzzer gets past 404.
EXISTING: dict[str, Any] = {
    "task_id": Task,
    "channel_id": Channel,
    "delivery_id": Delivery,
    "component_id": Component,
    "maintenance_id": Maintenance,
    "attachment_id": Attachment,
    "item_id": ActionItem,
}

PASSWORD = "correct-horse-battery"


def error_format(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answer of the API carries {"detail": str, "errors": [{"field", "message"}]}."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert set(body) == {"detail", "errors"}, f"error body keys {sorted(body)}: {body!r}"
    assert isinstance(body["detail"], str) and body["detail"], f"bad detail: {body!r}"
    assert isinstance(body["errors"], list), f"errors is not a list: {body!r}"
    for error in body["errors"]:
        assert isinstance(error, dict) and set(error) == {"field", "message"}, repr(error)
        assert isinstance(error["field"], str) and isinstance(error["message"], str), repr(error)
    return True


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    error_format,
]


@pytest.fixture
def in_process_db(db, settings):
    """Let the WSGI application share the test's transaction, as Django's test client does."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(in_process_db, tmp_path, settings):
    """A member and a stakeholder with tokens, and incidents for paths to find."""
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    stakeholder = user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )
    incidents.incident_report(by=member, title="Checkout fails for card payments")
    incidents.incident_report(by=stakeholder, title="Reports page is slow")
    return {
        "member": token_create(by=None, user=member)[0],
        "stakeholder": token_create(by=None, user=stakeholder)[0],
        "anonymous": None,
    }


def _aim_at_existing_rows(case: Any, data: st.DataObject) -> None:
    for name in list(case.path_parameters or {}):
        if not data.draw(st.booleans(), label=f"existing {name}"):
            continue
        if name == "ref":
            refs = [i.ref for i in Incident.objects.order_by("pk")[:5]]
            case.path_parameters[name] = data.draw(st.sampled_from(refs), label=name)
        elif name in EXISTING:
            pks = list(EXISTING[name].objects.order_by("pk").values_list("pk", flat=True)[:5])
            if pks:
                case.path_parameters[name] = data.draw(st.sampled_from(pks), label=name)


@pytest.mark.parametrize("role", ["member", "stakeholder", "anonymous"])
@schema.parametrize()
@schema.given(data=st.data())
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
def test_api_holds_its_contract(case, data, role, world):
    _aim_at_existing_rows(case, data)
    token = world[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    if token is None and case.operation.definition.raw.get("security"):
        assert response.status_code == 401, f"{response.status_code} without credentials"
