"""Property-based fuzzing of the JSON API at /api/v1 with schemathesis, and of /api/v2 and the
public pages with hypothesis.

Every operation of the OpenAPI schema is called in-process through the WSGI application as a
member, as a stakeholder (each with a bearer token) and without credentials. Whatever the
input, the API must not answer 5xx, a 2xx must match the schema it declares, a 4xx must
carry the error body of `incidentdesk.core.api` ({"detail": str, "errors": [{field,
message}]}), and an operation that needs credentials answers 401 without them.

Hostile input as well: every operation again with lone surrogates, NUL, control characters
and bare CRs in each string of its body and query, and with a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (a JSON 413); and the Statuspage read API (/api/v2) and the
public pages (status page, history, feeds, calendar, badges, subscribe form) with hostile
paths, query strings, methods and form fields. None may answer 5xx; under /api/ every error
is the JSON error shape.

Under CI=true the examples are derandomized, so CI fails only on a change of the product; a
local run draws new ones each time.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
from werkzeug.test import Client as WsgiClient

from incidentdesk.accounts.services import token_create, user_create
from incidentdesk.comms.models import Channel, Delivery
from incidentdesk.core import text
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, Task
from incidentdesk.portal.models import Attachment
from incidentdesk.reviews.models import ActionItem
from incidentdesk.statuspage.api_v2 import DOCUMENTS
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


def _assert_error_shape(body: Any) -> None:
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert set(body) == {"detail", "errors"}, f"error body keys {sorted(body)}: {body!r}"
    assert isinstance(body["detail"], str) and body["detail"], f"bad detail: {body!r}"
    assert isinstance(body["errors"], list), f"errors is not a list: {body!r}"
    for error in body["errors"]:
        assert isinstance(error, dict) and set(error) == {"field", "message"}, repr(error)
        assert isinstance(error["field"], str) and isinstance(error["message"], str), repr(error)


def error_format(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answer of the API carries {"detail": str, "errors": [{"field", "message"}]}."""
    if not 400 <= response.status_code < 500:
        return None
    _assert_error_shape(response.json())
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
        # a query string that is not text is refused before anything else, for everyone
        unsafe_query = any(
            text.problem(str(item))
            for key, value in (case.query or {}).items()
            for item in (key, *(value if isinstance(value, list) else [value]))
        )
        expected = (401, 422) if unsafe_query else (401,)
        assert response.status_code in expected, f"{response.status_code} without credentials"


# -- hostile text, oversized bodies --------------------------------------------------------------

# Text no database or output can carry as is: lone surrogates, NUL, C0 and C1 controls, bare
# CR, XML non-characters. Each string of a generated JSON body or query gets one appended.
HOSTILE = ["\ud800", "\udfff", "\x00", "\x07", "\x1b[31m", "\r", "\x0b\x0c", "\x85", "\ufffe"]
HOSTILE_EXAMPLES = max(3, MAX_EXAMPLES // 3)


def _poison(value: Any, fragment: str) -> Any:
    if isinstance(value, str):
        return value + fragment
    if isinstance(value, dict):
        return {k: _poison(v, fragment) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, fragment) for v in value]
    return value


@pytest.mark.parametrize("role", ["member", "anonymous"])
@schema.parametrize()
@schema.given(data=st.data())
@settings(
    deadline=None,
    max_examples=HOSTILE_EXAMPLES,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
def test_api_refuses_hostile_text_cleanly(case, data, role, world):
    """Sent as a client would: the JSON body with its lone surrogates \\u-escaped, the query
    string as UTF-8 (a lone surrogate cannot travel in an address, so there it is U+FFFD)."""
    _aim_at_existing_rows(case, data)
    fragment = data.draw(st.sampled_from(HOSTILE), label="hostile")
    token = world[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: str | bytes | None = None
    if case.media_type == "application/json" and isinstance(case.body, bytes):
        body = case.body
    elif case.media_type == "application/json" and not isinstance(case.body, NotSet):
        body = json.dumps(_poison(case.body, fragment))
    encodable = "\ufffd\x00" if "\ud800" <= fragment[0] <= "\udfff" else fragment
    response = WsgiClient(application).open(
        case.formatted_path,
        method=case.method,
        query_string=_poison(dict(case.query or {}), encodable),
        data=body,
        content_type=case.media_type if body is not None else None,
        headers=headers,
    )
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
    if response.status_code >= 400:
        _assert_error_shape(response.get_json())


def _operations_with_a_body() -> list[tuple[str, str]]:
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    return [
        (method.upper(), "/api/v1" + path.removeprefix("/api/v1"))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
        and "application/json" in operation["requestBody"].get("content", {})
    ]


@pytest.mark.parametrize("role", ["member", "anonymous"])
def test_every_oversized_json_body_is_a_json_413(role, world, settings):
    client = WsgiClient(application)
    token = world[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = b'{"title": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    operations = _operations_with_a_body()
    assert len(operations) > 10
    for method, path in operations:
        path = path.replace("{ref}", "INC-1")
        for name in EXISTING:
            path = path.replace("{" + name + "}", "1")
        response = client.open(
            path, method=method, data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 413, (method, path, response.status_code)
        _assert_error_shape(response.get_json())
        assert "bytes" in response.get_json()["detail"]


# -- the Statuspage read API (/api/v2) and the public pages --------------------------------------

PUBLIC_PATHS = [
    *(f"/api/v2/{name}" for name in DOCUMENTS),
    "/api/v2/components/{x}.json",
    "/api/v2/incidents/{x}.json",
    "/api/v2/{x}",
    "/status/",
    "/status/history/",
    "/status/history/{x}/",
    "/status/history.atom",
    "/status/history.rss",
    "/status/maintenance.ics",
    "/status/badge.svg",
    "/status/components/{x}/badge.svg",
    "/status/incidents/{x}/",
    "/status/maintenance/{x}/",
    "/status/subscribe/",
    "/status/subscriptions/confirm/{x}/",
    "/status/subscriptions/unsubscribe/{x}/",
]

hostile_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zl", "Zp", "Co"]), max_size=8),
    st.sampled_from(HOSTILE),
)
raw_bytes = st.binary(max_size=24).map(lambda b: "".join(f"%{c:02x}" for c in b))


@pytest.fixture
def public_world(world):
    """A component, a published incident and a maintenance window for the pages to show."""
    import datetime as dt

    from incidentdesk.accounts.models import User
    from incidentdesk.core import clock
    from incidentdesk.statuspage import cache
    from incidentdesk.statuspage import services as statuspage

    member = User.objects.get(email="alex@spacewise.test")
    cache.clear()
    component = statuspage.component_create(by=None, name="API")
    incident = incidents.incident_report(by=member, title="Slow API")
    statuspage.incident_link_component(
        by=member, incident=incident.ref, component=component.pk, status="partial_outage"
    )
    statuspage.incident_publish(by=member, incident=incident.ref)
    start = clock.now() + dt.timedelta(days=1)
    statuspage.maintenance_schedule(
        by=member, name="Upgrade", scheduled_for=start, scheduled_until=start + dt.timedelta(1)
    )
    yield
    cache.clear()


@settings(
    deadline=None,
    max_examples=MAX_EXAMPLES * 8,
    derandomize=os.environ.get("CI") == "true",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_public_endpoints_never_fail_on_hostile_requests(data, public_world):
    client = WsgiClient(application)
    path = data.draw(st.sampled_from(PUBLIC_PATHS), label="path")
    part = data.draw(
        st.one_of(hostile_text.map(lambda s: quote(s, safe="", errors="surrogatepass")), raw_bytes),
        label="part",
    )
    path = path.replace("{x}", part or "x")
    query = data.draw(st.lists(st.tuples(raw_bytes, raw_bytes), max_size=3), label="query")
    method = data.draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]))
    body = b""
    if method == "POST" and path == "/status/subscribe/":
        # a visitor's form: the CSRF cookie first, then hostile fields
        client.get(path)
        cookie = client.get_cookie("csrftoken")
        fields = {
            name: data.draw(hostile_text, label=name)
            for name in ("kind", "email", "url", "components")
        }
        fields["csrfmiddlewaretoken"] = cookie.value if cookie else ""
        body = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
    response = client.open(
        path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else ""),
        method=method,
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500, (method, path, response.status_code)
    if path.startswith("/api/") and response.status_code >= 400:
        _assert_error_shape(response.get_json())
