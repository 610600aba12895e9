"""Security headers on every page, https settings, the deploy check and the API docs' assets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.test import Client

import incidentdesk
from incidentdesk.incidents.services import incident_report

from ..cli.helpers import INCIDENTDESK, env_for, sqlite_only

pytestmark = pytest.mark.django_db

SRC = Path(incidentdesk.__file__).resolve().parent
STATIC = SRC / "static"


def policy_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def test_every_kind_of_page_carries_a_strict_policy(client, member, stakeholder):
    incident = incident_report(by=stakeholder, title="Search is very slow")
    team = Client()
    team.force_login(member)
    portal = Client()
    portal.force_login(stakeholder)
    responses = {
        "login": client.get("/login/"),
        "queue": team.get("/"),
        "incident": team.get(f"/incidents/{incident.ref}"),
        "tokens": team.get("/tokens/"),
        "portal": portal.get("/portal/"),
        "status page": client.get("/status/"),
        "api docs": client.get("/api/v1/docs"),
        "api": client.get("/api/v1/incidents"),
    }
    for name, response in responses.items():
        assert response.status_code in {200, 401}, name
        policy = policy_of(response)
        assert policy["default-src"] == ["'self'"], name
        assert policy["script-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["frame-ancestors"] == ["'none'"], name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        # http base URL (the default): no HSTS, which would strand plain-http installs
        assert "Strict-Transport-Security" not in response, name


def _templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*.html"))


def test_no_template_has_inline_script_or_event_handlers():
    found = []
    for path in _templates():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                found.append(f"{path.relative_to(SRC)}: {tag}")
        for attr in re.findall(r"<[a-z][^>]*\s(on[a-z]+)\s*=", text):
            found.append(f"{path.relative_to(SRC)}: {attr}=")
        if re.search(r"\sstyle\s*=|<style\b|javascript:|hx-on|hx-vars|js:", text):
            found.append(f"{path.relative_to(SRC)}: inline style or script")
    assert len(_templates()) > 30
    assert found == []


def test_htmx_is_configured_to_need_no_inline_style_or_eval(client, member):
    client.force_login(member)
    html = client.get("/").content.decode()
    assert (
        """<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>"""
        in html
    )


def test_api_docs_use_the_products_own_swagger_ui(client):
    html = client.get("/api/v1/docs").content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*href="([^"]+)"', html)
    assert scripts == [
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/incidentdesk/api-docs.js",
    ]
    assert "/static/vendor/swagger-ui/swagger-ui.css" in styles
    assert not re.search(r"https?://", "".join(scripts + styles))
    assert '<script id="swagger-settings" type="application/json">' in html
    vendor = STATIC / "vendor" / "swagger-ui"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert "swagger-ui-dist 5.35.0 from the npm registry" in (vendor / "SOURCE").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert (vendor / name).stat().st_size > 100_000
    assert (STATIC / "incidentdesk" / "api-docs.js").exists()


HTTPS = {"INCIDENTDESK_BASE_URL": "https://incidents.example.com"}


def deployed_env(data_dir: Path) -> dict[str, str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment has not.
    env = env_for(data_dir)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def run(data_dir: Path, *args: str, env_extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The real `incidentdesk` command with extra environment (e.g. an https base URL)."""
    return subprocess.run(
        [str(INCIDENTDESK), *args],
        env={**deployed_env(data_dir), **(env_extra or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@sqlite_only
def test_deploy_check_is_clean_with_an_https_base_url(tmp_path):
    done = run(tmp_path, "manage", "check", "--deploy", env_extra=HTTPS)
    assert done.returncode == 0, done.stderr
    # the one silenced: HSTS preload, which the operator opts into (INCIDENTDESK_HSTS_PRELOAD)
    assert done.stdout.strip() == "System check identified no issues (1 silenced)."
    assert done.stderr == ""


@sqlite_only
def test_deploy_check_warns_with_a_plain_http_base_url(tmp_path):
    done = run(tmp_path, "manage", "check", "--deploy")
    output = done.stdout + done.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output


@sqlite_only
def test_https_base_url_sends_hsts_secure_cookies_and_redirects_http(tmp_path):
    code = (
        "from django.test import Client\n"
        "r = Client().get('/login/', secure=True)\n"
        "print(r.status_code, r['Strict-Transport-Security'])\n"
        "print('csrftoken secure:', bool(r.cookies['csrftoken']['secure']))\n"
        "r = Client().get('/login/')\n"
        "print(r.status_code, r['Location'])\n"
        "r = Client().get('/login/', headers={'X-Forwarded-Proto': 'https'})\n"
        "print(r.status_code)\n"
        "print(Client().get('/healthz').status_code)\n"
    )
    # the sign-in page lists the providers added in the pages: a database made as `init` makes it
    assert run(tmp_path, "manage", "migrate", "--no-input").returncode == 0
    done = run(tmp_path, "manage", "shell", "--no-imports", "-c", code, env_extra=HTTPS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "200 max-age=31536000; includeSubDomains",
        "csrftoken secure: True",
        "301 https://testserver/login/",
        "200",
        "200",
    ]
