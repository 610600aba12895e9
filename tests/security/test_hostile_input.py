"""Hostile input is refused cleanly everywhere: text that is not Unicode, control characters,
oversized bodies, broken encodings and forged requests get a 4xx that names the problem (JSON
under /api/), never a 500; text stored before input was checked cannot take an output down."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from incidentdesk.core import clock
from incidentdesk.core.text import TextRefused, clean, printable, scrub
from incidentdesk.incidents.models import Incident, PublicUpdate
from incidentdesk.incidents.services import incident_post_update, incident_report
from incidentdesk.statuspage import services as statuspage
from incidentdesk.statuspage.models import Component, Maintenance, Publication

from ..conftest import PASSWORD

JSON = "application/json"


def _error_shape(response) -> dict:
    assert response["Content-Type"].startswith(JSON), response.content[:200]
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["detail"], body
    for error in body["errors"]:
        assert set(error) == {"field", "message"}, body
    return body


def _fields(response) -> list[str]:
    return [e["field"] for e in _error_shape(response)["errors"]]


@pytest.fixture
def api(member, token_for):
    client = Client(enforce_csrf_checks=True)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(member)}"
    return client


@pytest.fixture
def published(member):
    """An incident on the public page with one public update."""
    component = statuspage.component_create(by=None, name="API")
    incident = incident_report(by=member, title="Slow API responses")
    statuspage.incident_link_component(
        by=member, incident=incident.ref, component=component.pk, status="partial_outage"
    )
    statuspage.incident_publish(by=member, incident=incident.ref)
    incident_post_update(
        by=member, incident=incident.ref, status="identified", body="A node is overloaded."
    )
    return incident


# -- the one text check ------------------------------------------------------------------------


def test_scrub_drops_control_characters_and_normalises_line_breaks():
    assert scrub("a\x07b\x1b[31mc\x7f\x85d\r\ne\rf\tg") == "ab[31mcd\ne\nf\tg"
    assert scrub(" Checkout\x07 down\r\nagain\tnow ", multiline=False) == "Checkout down again now"
    assert printable("Down\x07\r\nagain\rand \ud800 over") == "Down\nagain\nand \ufffd over"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "x\ud800",
            "Text must be valid Unicode: it holds a broken character (U+D800, a lone surrogate)"
            " at position 2.",
        ),
        ("x\x00y", "Text cannot contain a control character (U+0000) at position 2."),
    ],
)
def test_clean_refuses_what_no_output_can_carry_naming_the_field(value, message):
    with pytest.raises(TextRefused, match="Text"):
        scrub(value)
    with pytest.raises(Exception) as refused:
        clean("title", value, limit=200)
    assert refused.value.as_dict() == {
        "detail": message,
        "errors": [{"field": "title", "message": message}],
    }


# -- the JSON API: lone surrogates, control characters -------------------------------------------


def test_lone_surrogate_in_a_title_is_a_422_naming_the_field_and_writes_nothing(api):
    response = api.post("/api/v1/incidents", '{"title": "Checkout \\ud800 fails"}', JSON)
    assert response.status_code == 422
    assert _fields(response) == ["title"]
    assert "lone surrogate" in response.json()["errors"][0]["message"]
    assert not Incident.objects.exists()


def test_lone_surrogate_deep_in_an_unauthenticated_body_is_a_422(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/statuspage/subscribers",
        '{"email": "nora@northwind.test", "components": ["\\udfff"]}',
        JSON,
    )
    assert response.status_code == 422
    assert _fields(response) == ["components.0"]
    from incidentdesk.statuspage.models import Subscriber

    assert not Subscriber.objects.exists()


def test_control_characters_are_dropped_and_line_breaks_normalised(api):
    body = {"title": "Checkout\x07 fails\r\nfor cards", "description": "Seen at 9:00\rand\x1b 9:05"}
    response = api.post("/api/v1/incidents", json.dumps(body), JSON)
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Checkout fails for cards"
    incident = Incident.objects.get()
    assert incident.title == "Checkout fails for cards"
    assert incident.description == "Seen at 9:00\nand 9:05"


def test_nul_in_a_query_parameter_is_a_422_naming_it(api):
    response = api.get("/api/v1/incidents", {"q": "a\x00b"})
    assert response.status_code in (400, 422)
    _error_shape(response)


# -- forms ----------------------------------------------------------------------------------------


def test_portal_form_takes_clean_text_and_refuses_nul_writing_nothing(stakeholder):
    client = Client()
    client.login(username=stakeholder.email, password=PASSWORD)
    refused = client.post("/portal/report/", {"title": "Reports\x00 page", "description": ""})
    assert refused.status_code in (200, 422)
    assert "a control character (U+0000) at position 8" in refused.content.decode()
    assert not Incident.objects.exists()

    taken = client.post(
        "/portal/report/",
        {"title": "Reports\x07 page\r\nslow", "description": "Since 9:00\r\x1bthis morning"},
    )
    assert taken.status_code == 302, taken.content[:300]
    incident = Incident.objects.get()
    assert incident.title == "Reports page slow"
    assert incident.description.startswith("Since 9:00\nthis morning")


def test_management_page_strips_control_characters_from_a_component_name(manager):
    client = Client()
    client.login(username=manager.email, password=PASSWORD)
    response = client.post(
        "/status/manage/", {"action": "component_create", "name": "Web\x07site\r\nEU"}
    )
    assert response.status_code == 302
    assert list(Component.objects.values_list("name", flat=True)) == ["Website EU"]


# -- outputs: data stored before input was checked ----------------------------------------------


def _store_legacy_text(incident: Incident) -> None:
    """What a database written before the check may hold: control characters in the text."""
    Publication.objects.filter(incident=incident).update(public_title="Slow\x07 API\x1b\x0c")
    PublicUpdate.objects.filter(incident=incident).update(body="Node\x08 overloaded\x01\rok")


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feeds_carry_stored_control_characters_as_valid_xml(published, kind):
    _store_legacy_text(published)
    response = Client().get(f"/status/history.{kind}")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    titles = [e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "title"]
    assert "Slow API" in titles
    assert "Node overloaded\nok" in response.content.decode()


def test_calendar_has_no_bare_cr_and_no_control_characters(member):
    start = clock.now() + dt.timedelta(days=1)
    statuspage.maintenance_schedule(
        by=member,
        name="Database\r upgrade\x07",
        body="Line one\rLine two\r\nLine three",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )
    stored = Maintenance.objects.get()
    assert (stored.name, stored.body) == ("Database upgrade", "Line one\nLine two\nLine three")
    Maintenance.objects.update(name="Legacy\r\x07 window; part 1", body="a\rb\x0bc")
    ics = Client().get("/status/maintenance.ics").content.decode()
    assert ics.count("\r") == ics.count("\r\n")
    assert not any(ord(c) < 32 and c not in "\r\n" for c in ics)
    unfolded = ics.replace("\r\n ", "")
    assert "SUMMARY:Legacy\\n window\\; part 1\r\n" in unfolded
    assert "DESCRIPTION:a\\nbc\r\n" in unfolded


def test_badge_of_a_component_with_a_stored_control_character_is_valid_svg(db):
    component = statuspage.component_create(by=None, name="Search")
    Component.objects.filter(pk=component.pk).update(name="Sea\x07rch")
    response = Client().get(f"/status/components/{component.pk}/badge.svg")
    assert response.status_code == 200
    ET.fromstring(response.content)
    assert "Search" in response.content.decode()


def test_static_export_of_stored_control_characters_completes(tmp_path):
    """`incidentdesk statuspage export` on a database written before input was checked."""
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTDESK_DATABASE_URL"}
    env["INCIDENTDESK_DATA_DIR"] = str(tmp_path / "data")
    cli = [sys.executable, "-m", "incidentdesk.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    script = (
        "from incidentdesk.accounts.services import user_create\n"
        "from incidentdesk.incidents.services import incident_report\n"
        "from incidentdesk.statuspage import services\n"
        "m = user_create(by=None, email='m@x.test', password='pw-long-enough', role='member')\n"
        "i = incident_report(by=m, title='Slow API')\n"
        "services.incident_publish(by=m, incident=i.ref)\n"
    )
    subprocess.run(
        [*cli, "manage", "shell", "-c", script], env=env, check=True, capture_output=True
    )
    with sqlite3.connect(tmp_path / "data" / "incidentdesk.sqlite3") as db:
        db.execute("UPDATE statuspage_publication SET public_title = 'Slow' || char(7) || ' API'")
    done = subprocess.run(
        [*cli, "statuspage", "export", str(tmp_path / "site")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for name in ("history.atom", "history.rss"):
        feed = ET.parse(tmp_path / "site" / "status" / name)
        titles = [e.text for e in feed.iter() if e.tag.rsplit("}", 1)[-1] == "title"]
        assert "Slow API" in titles


# -- every error under /api/ is JSON -------------------------------------------------------------


def test_oversized_json_body_is_a_json_413_and_writes_nothing(api, settings):
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = api.post("/api/v1/incidents", body, JSON)
    assert response.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in _error_shape(response)["detail"]
    assert not Incident.objects.exists()


def test_malformed_json_is_a_json_400(api):
    response = api.post("/api/v1/incidents", '{"title": ', JSON)
    assert response.status_code == 400
    _error_shape(response)
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v2/summary.json", "/api/v2/incidents.json", "/api/v2/nothing.json"]
)
def test_posting_to_the_read_api_is_a_json_error_not_the_csrf_page(db, path):
    response = Client(enforce_csrf_checks=True).post(path, "{}", JSON)
    # a read-only document refuses the method; an unknown one is not found; both in JSON
    expected = (404,) if "nothing" in path else (403, 405)
    assert response.status_code in expected
    _error_shape(response)


def test_csrf_failure_with_a_session_is_json_under_api_and_a_page_elsewhere(member):
    client = Client(enforce_csrf_checks=True)
    client.login(username=member.email, password=PASSWORD)
    api = client.post("/api/v1/incidents", '{"title": "Checkout fails"}', JSON)
    assert api.status_code == 403
    assert "CSRF" in _error_shape(api)["detail"]
    page = client.post("/portal/report/", {"title": "Checkout fails"})
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    assert not Incident.objects.exists()


@pytest.mark.parametrize("path", ["/api/nothing", "/api/v1/nothing", "/api/v1/incidents/x/y/z"])
def test_unknown_api_paths_are_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert path in _error_shape(response)["detail"]


def test_unsupported_method_is_a_json_405_naming_the_allowed_ones(api):
    response = api.delete("/api/v1/incidents")
    assert response.status_code == 405
    assert "DELETE is not allowed" in _error_shape(response)["detail"]


@pytest.mark.urls("tests.security.broken_urls")
def test_a_server_error_under_api_is_json_and_a_page_elsewhere(db):
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/broken")
    assert api.status_code == 500
    assert "logged" in _error_shape(api)["detail"]
    assert "disk" not in api.content.decode()
    page = client.get("/broken")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


# -- broken encodings in addresses and form posts ------------------------------------------------

PUBLIC_URLS = [
    "/status/",
    "/status/history/",
    "/status/history.atom",
    "/status/history.rss",
    "/status/maintenance.ics",
    "/status/badge.svg",
    "/status/subscribe/",
    "/api/v2/summary.json",
    "/api/v2/incidents.json",
    "/login/",
    "/healthz",
]


@pytest.mark.parametrize("url", PUBLIC_URLS)
@pytest.mark.parametrize("query", ["%ff%fe%ed%a0%80=%c3%28", "q=%00", "q=%ed%a0%80&page=%ff"])
def test_broken_query_strings_never_take_a_public_url_down(published, url, query):
    response = Client().get(f"{url}?{query}")
    assert response.status_code < 500
    if url.startswith("/api/") and response.status_code >= 400:
        _error_shape(response)


@pytest.mark.parametrize(
    "path",
    [
        "/status/incidents/%00/",
        "/status/incidents/%ed%a0%80/",
        "/api/v2/incidents/%00.json",
        "/api/v2/components/%ff.json",
        "/api/v1/incidents/INC-%00",
        "/portal/INC-1%00/",
        "/incidents/INC-%00",
        "/?q=%00",
    ],
)
def test_broken_paths_are_refused_not_a_500(published, member, path):
    client = Client()
    client.login(username=member.email, password=PASSWORD)
    response = client.get(path)
    assert 400 <= response.status_code < 500
    if path.startswith("/api/"):
        _error_shape(response)


def test_form_posts_with_invalid_utf8_are_answered_not_a_500(published, member):
    client = Client()
    form = "application/x-www-form-urlencoded"
    subscribe = client.post("/status/subscribe/", b"email=%ff%ed%a0%80&kind=%00", form)
    assert subscribe.status_code == 422
    login = client.post("/login/", b"username=%ff%00&password=%ed%a0%80", form)
    assert login.status_code == 200
    assert client.session.get("_auth_user_id") is None
