"""The JSON API's shared contract: its OpenAPI document, authentication and input guards."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from ninja.openapi.schema import OpenAPISchema

from incidentdesk.api import api
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident


@pytest.fixture
def bearer(member, token_for):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(member)}"}


def post(client, path, body, **extra):
    return client.post(
        f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **extra
    )


def _body_schema(document, method, path):
    op = document["paths"][f"/api/v1{path}"][method]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _response_schema(document, method, path, status):
    op = document["paths"][f"/api/v1{path}"][method]
    ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_no_two_models_share_a_name_in_the_openapi_document(monkeypatch):
    # django-ninja files every model under its class name and the last one wins: two
    # `CommentOut`s made the document describe one endpoint's body with the other's fields.
    seen: dict[str, list[dict]] = {}
    add = OpenAPISchema.add_schema_definitions

    def recording(self, definitions):
        for name, definition in definitions.items():
            seen.setdefault(name, []).append(definition)
        add(self, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", recording)
    api.get_openapi_schema(path_prefix="/api/v1/")
    assert sorted(n for n, defs in seen.items() if any(d != defs[0] for d in defs)) == []


def test_documented_bodies_are_the_ones_the_endpoints_take():
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    assert _body_schema(document, "post", "/incidents/{ref}/resolve")["required"] == ["summary"]
    assert "organisation" in _body_schema(document, "post", "/incidents")["properties"]
    assert "steps" in _body_schema(document, "post", "/reports")["properties"]
    assert set(_body_schema(document, "post", "/incidents/{ref}/comments")["properties"]) == {
        "body"
    }
    assert (
        "section"
        in _body_schema(document, "post", "/incidents/{ref}/review/comments")["properties"]
    )
    comment = _response_schema(document, "post", "/incidents/{ref}/comments", 201)
    assert set(comment["required"]) == {"seq", "author", "at", "body", "attachments"}


def test_a_write_without_credentials_is_401_not_a_csrf_refusal(db):
    client = Client(enforce_csrf_checks=True)
    r = post(client, "/incidents", {"title": "Tills down"})
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == "Bearer"
    assert r.json() == {
        "detail": "Authentication required: send a bearer token or log in.",
        "errors": [],
    }
    r = post(client, "/incidents", {"title": "Tills down"}, HTTP_AUTHORIZATION="Bearer idk_nope")
    assert r.status_code == 401
    assert not Incident.objects.exists()


def test_a_logged_in_session_still_needs_the_csrf_token(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    r = post(client, "/incidents", {"title": "Tills down"})
    assert r.status_code == 403
    assert r.json() == {"detail": "CSRF check Failed", "errors": []}
    assert not Incident.objects.exists()


def test_text_with_nul_characters_is_refused_with_its_field(client, member, bearer):
    def nul(position: int) -> str:
        return f"Text cannot contain a control character (U+0000) at position {position}."

    r = post(client, "/incidents", {"title": "Tills\x00down", "description": "ok"}, **bearer)
    assert r.status_code == 422
    # a schema's text field refuses it like any schema violation; the field says why
    assert r.json() == {
        "detail": "Invalid input.",
        "errors": [{"field": "title", "message": nul(6)}],
    }
    assert not Incident.objects.exists()

    incident = incidents.incident_report(by=member, title="Tills down")
    r = client.get("/api/v1/incidents", {"q": "Tills\x00"}, **bearer)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "q", "message": nul(6)}]
    r = post(client, f"/incidents/{incident.ref}/note", {"body": "a\x00b"}, **bearer)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "body", "message": nul(2)}]


@pytest.mark.parametrize(
    ("started_at", "message"),
    [
        ("2026-03-02T09:00:00", "Give the time with its UTC offset, e.g. 2026-03-02T09:00:00Z."),
        ("0001-01-01T00:30:00+01:00", "The time is out of range."),
    ],
)
def test_a_time_without_offset_or_out_of_range_is_refused(client, bearer, started_at, message):
    r = post(client, "/incidents", {"title": "Tills down", "started_at": started_at}, **bearer)
    assert r.status_code == 422
    assert r.json() == {
        "detail": "Invalid input.",
        "errors": [{"field": "started_at", "message": message}],
    }
    assert not Incident.objects.exists()


def test_a_time_is_kept_in_utc_whatever_offset_it_came_with(client, bearer):
    # PostgreSQL refuses offsets beyond ±15:59; ISO 8601 allows up to ±23:59.
    r = post(
        client,
        "/incidents",
        {"title": "Tills down", "started_at": "2026-03-02T09:00:00+16:00"},
        **bearer,
    )
    assert r.status_code == 201
    assert r.json()["started_at"] == "2026-03-01T17:00:00Z"
    assert Incident.objects.get().started_at.isoformat() == "2026-03-01T17:00:00+00:00"
