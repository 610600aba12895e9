"""Every /api/v1 incident and policy endpoint x every kind of caller, with the exact status.

The expected status is derived from `accounts.permissions.PERMISSIONS`: a role outside an
action's row gets 403, a stakeholder of another organisation gets 404 for what its role may
do, anonymous callers 401. Changing the table without the behaviour (or the behaviour without
the table) fails here. Every refused call is checked to have written nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from incidentdesk.accounts.permissions import PERMISSIONS
from incidentdesk.incidents import services as s
from incidentdesk.incidents.api import router as incidents_router
from incidentdesk.incidents.models import Incident
from incidentdesk.policy.api import router as policy_router

from .conftest import db_state

CALLERS = ("admin", "manager", "member", "stakeholder", "other_stakeholder", "anonymous")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {ref} and {task} are filled in from the incident
    action: str
    state: str  # the incident's state before the call
    success: int = 200
    body: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    on_incident: bool = True


def _categorize(ctx):
    return {"type": "functionality", "severity": "P3", "impact": "few"}


E = Endpoint
ENDPOINTS = [
    E("POST", "/incidents", "incident.report", "reported", 201, lambda c: {"title": "New"}, False),
    E("GET", "/incidents", "incident.view", "reported", on_incident=False),
    E("GET", "/incidents/{ref}", "incident.view", "reported"),
    E("GET", "/incidents/{ref}/timeline", "incident.view", "triaged"),
    E("GET", "/incidents/{ref}/steps", "incident.view", "triaged"),
    E("GET", "/incidents/{ref}/tasks", "incident.view", "triaged"),
    E("POST", "/incidents/{ref}/acknowledge", "incident.acknowledge", "reported"),
    E("POST", "/incidents/{ref}/acknowledge", "incident.acknowledge", "resolved", 409),
    E("POST", "/incidents/{ref}/categorize", "incident.categorize", "reported", body=_categorize),
    E("POST", "/incidents/{ref}/categorize", "incident.categorize", "resolved", 409, _categorize),
    E(
        "POST",
        "/incidents/{ref}/assign",
        "incident.assign",
        "reported",
        body=lambda c: {"assignee": "sam@spacewise.test"},
    ),
    E(
        "POST",
        "/incidents/{ref}/assign",
        "incident.assign_self",
        "reported",
        body=lambda c: {"assignee": c["caller_email"]},
    ),
    E(
        "POST",
        "/incidents/{ref}/assign",
        "incident.assign",
        "closed",
        409,
        lambda c: {"assignee": "sam@spacewise.test"},
    ),
    E(
        "POST",
        "/incidents/{ref}/roles",
        "incident.assign",
        "reported",
        body=lambda c: {"role": "comms", "to": "sam@spacewise.test", "note": "Yours"},
    ),
    E(
        "POST",
        "/incidents/{ref}/roles",
        "incident.assign_self",
        "reported",
        body=lambda c: {"role": "lead", "to": c["caller_email"]},
    ),
    E(
        "POST",
        "/incidents/{ref}/roles",
        "incident.assign",
        "closed",
        409,
        lambda c: {"role": "comms", "to": "sam@spacewise.test"},
    ),
    E(
        "POST",
        "/incidents/{ref}/status",
        "incident.set_status",
        "triaged",
        body=lambda c: {"status": "investigating"},
    ),
    E(
        "POST",
        "/incidents/{ref}/status",
        "incident.set_status",
        "reported",
        409,
        lambda c: {"status": "investigating"},
    ),
    E("POST", "/incidents/{ref}/note", "incident.note", "reported", 201, lambda c: {"body": "b"}),
    E(
        "POST",
        "/incidents/{ref}/updates",
        "incident.post_update",
        "triaged",
        201,
        lambda c: {"status": "investigating", "body": "Looking into it"},
    ),
    E(
        "POST",
        "/incidents/{ref}/updates",
        "incident.post_update",
        "closed",
        409,
        lambda c: {"status": "investigating", "body": "Looking into it"},
    ),
    E(
        "POST",
        "/incidents/{ref}/request-info",
        "incident.request_info",
        "reported",
        201,
        lambda c: {"question": "Which stores?"},
    ),
    E(
        "POST",
        "/incidents/{ref}/request-info",
        "incident.request_info",
        "resolved",
        409,
        lambda c: {"question": "Which stores?"},
    ),
    E(
        "POST",
        "/incidents/{ref}/provide-info",
        "incident.provide_info",
        "asked",
        body=lambda c: {"answer": "Stores 4 and 7"},
    ),
    E(
        "POST",
        "/incidents/{ref}/provide-info",
        "incident.provide_info",
        "reported",
        409,
        lambda c: {"answer": "Stores 4 and 7"},
    ),
    E(
        "POST",
        "/incidents/{ref}/resolve",
        "incident.resolve",
        "triaged",
        body=lambda c: {"summary": "Fixed"},
    ),
    E(
        "POST",
        "/incidents/{ref}/resolve",
        "incident.resolve",
        "reported",
        409,
        lambda c: {"summary": "Fixed"},
    ),
    E("POST", "/incidents/{ref}/close", "incident.close", "resolved"),
    E("POST", "/incidents/{ref}/close", "incident.close", "triaged", 409),
    E(
        "POST",
        "/incidents/{ref}/reject",
        "incident.reject",
        "reported",
        body=lambda c: {"reason": "Not ours"},
    ),
    E(
        "POST",
        "/incidents/{ref}/reject",
        "incident.reject",
        "resolved",
        409,
        lambda c: {"reason": "Not ours"},
    ),
    E(
        "POST",
        "/incidents/{ref}/reopen",
        "incident.reopen",
        "resolved",
        body=lambda c: {"reason": "Again"},
    ),
    E(
        "POST",
        "/incidents/{ref}/reopen",
        "incident.reopen",
        "triaged",
        409,
        lambda c: {"reason": "Again"},
    ),
    E(
        "POST",
        "/incidents/{ref}/tasks/{task}",
        "incident.task_update",
        "triaged",
        body=lambda c: {"state": "done"},
    ),
    E(
        "POST",
        "/incidents/{ref}/tasks/{task}",
        "incident.task_update",
        "closed",
        409,
        lambda c: {"state": "done"},
    ),
    E("GET", "/policy", "policy.view", "reported", on_incident=False),
]


def expected_status(endpoint: Endpoint, caller: str, people: dict[str, Any]) -> int:
    if caller == "anonymous":
        return 401
    if people[caller].role not in PERMISSIONS[endpoint.action]:
        return 403
    if endpoint.on_incident and caller == "other_stakeholder":
        return 404
    return endpoint.success


def make_incident(state: str, people: dict[str, Any]) -> Incident:
    incident = s.incident_report(by=people["stakeholder"], title="Tills cannot sync")
    if state == "asked":
        s.incident_request_info(by=people["member"], incident=incident, question="Which stores?")
    if state in ("reported", "asked"):
        return incident
    s.incident_categorize(
        by=people["member"], incident=incident, type="functionality", severity="P3", impact="few"
    )
    if state == "triaged":
        return incident
    s.incident_resolve(by=people["member"], incident=incident, summary="Restarted")
    if state == "resolved":
        return incident
    s.incident_close(by=people["manager"], incident=incident)
    return incident


@pytest.fixture
def people(admin, manager, member, member2, stakeholder, other_stakeholder):
    return {
        "admin": admin,
        "manager": manager,
        "member": member,
        "stakeholder": stakeholder,
        "other_stakeholder": other_stakeholder,
    }


def _id(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path} [{endpoint.state}]"


def test_every_incident_and_policy_endpoint_is_in_the_table():
    served = {
        (method, "/" + path.lstrip("/"))
        for router in (incidents_router, policy_router)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    tested = {(e.method, e.path.replace("{task}", "{task_id}")) for e in ENDPOINTS}
    assert served == tested


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_endpoint_status_for_every_caller(client: Client, people, token_for, endpoint):
    tokens = {name: token_for(user) for name, user in people.items()}
    incident = make_incident(endpoint.state, people)
    task = incident.tasks.first()
    path = "/api/v1" + endpoint.path.format(ref=incident.ref, task=task.pk if task else 0)
    mismatches = []
    for caller in CALLERS:
        kwargs: dict[str, Any] = {}
        if caller in tokens:
            kwargs["HTTP_AUTHORIZATION"] = f"Bearer {tokens[caller]}"
        if endpoint.body is not None:
            email = people[caller].email if caller in people else "nobody@nowhere.test"
            kwargs["data"] = json.dumps(endpoint.body({"caller_email": email}))
            kwargs["content_type"] = "application/json"
        want = expected_status(endpoint, caller, people)
        # each caller meets the incident in the same state: its call is rolled back
        with transaction.atomic():
            before = db_state()
            response = getattr(client, endpoint.method.lower())(path, **kwargs)
            body = response.json()
            if response.status_code != want:
                mismatches.append((caller, want, response.status_code, body))
            elif want >= 400:
                assert set(body) == {"detail", "errors"} and body["detail"], (caller, body)
                assert db_state() == before, f"{caller}: a refused call wrote something"
            transaction.set_rollback(True)
    assert mismatches == []
