"""API tokens: named, scoped, expiring, listed and revoked on the pages, the API and the CLI;
revoked with the password or the account; every action in the audit log."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.apps import apps
from django.test import Client

from incidentdesk.accounts.models import ApiToken
from incidentdesk.accounts.services import token_create
from incidentdesk.api import api
from incidentdesk.core import clock
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident

from ..cli.helpers import fresh_copy, initialised_template, run, sqlite_only  # noqa: F401
from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def token_works(raw: str) -> bool:
    """Whether the token alone (a client without a session) may read the incident list."""
    status = Client().get("/api/v1/incidents", **bearer(raw)).status_code
    assert status in {200, 401}
    return status == 200


def row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def audit_kinds() -> list[tuple[str, dict]]:
    return [(e.kind, e.data) for e in AuditEntry.objects.order_by("seq")]


def write_operations() -> list[tuple[str, str]]:
    """Every (method, path) of /api/v1 that changes something and needs credentials."""
    schema = api.get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in {"get", "head", "options"} or not operation.get("security"):
                continue
            concrete = re.sub(r"\{[^}]*(ref|incident)[^}]*\}", "INC-1", path)
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", concrete)))
    return found


def test_every_write_operation_is_listed():
    operations = write_operations()
    assert ("POST", "/api/v1/incidents") in operations
    assert ("POST", "/api/v1/tokens") in operations
    assert ("DELETE", "/api/v1/tokens/1") in operations
    assert len(operations) > 20


def test_a_read_only_token_reads_and_gets_403_on_every_write(client, member):
    incident = incidents.incident_report(by=member, title="Login page slow")
    raw, _ = token_create(by=member, user=member, name="dashboards", scope="read")
    listed = client.get("/api/v1/incidents", **bearer(raw))
    assert listed.status_code == 200
    assert [i["ref"] for i in listed.json()["items"]] == [incident.ref]
    before = row_counts()
    refused = {}
    for method, path in write_operations():
        response = client.generic(
            method, path, json.dumps({}), content_type="application/json", **bearer(raw)
        )
        refused[(method, path)] = response.status_code
        if response.status_code == 403:
            assert "read-only" in response.json()["detail"]
            assert response.json()["errors"] == []
    assert {k: v for k, v in refused.items() if v != 403} == {}
    assert row_counts() == before


def test_a_read_write_token_writes(client, member):
    raw, _ = token_create(by=member, user=member, name="script", scope="write")
    r = client.post(
        "/api/v1/incidents",
        {"title": "Checkout errors"},
        content_type="application/json",
        **bearer(raw),
    )
    assert r.status_code == 201
    assert Incident.objects.get().title == "Checkout errors"


def test_an_expired_token_no_longer_authenticates(client, member):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with clock.frozen(start) as c:
        raw, token = token_create(by=member, user=member, expires_in_days=7)
        assert token.expires_at == start + dt.timedelta(days=7)
        assert token_works(raw)
        c.advance(days=7)
        r = client.get("/api/v1/incidents", **bearer(raw))
        assert r.status_code == 401
        assert r.json()["detail"] == "Authentication required: send a bearer token or log in."
        listed = client.get("/api/v1/tokens", **bearer(token_create(by=member, user=member)[0]))
    states = {t["prefix"]: t["state"] for t in listed.json()}
    assert states[token.prefix] == "expired"


def test_bad_token_input_is_refused_and_writes_nothing(member):
    before = audit_kinds()
    for kwargs, field in [
        ({"scope": "admin"}, "scope"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 3651}, "expires_in_days"),
        ({"name": "x" * 101}, "name"),
    ]:
        from incidentdesk.core.errors import InvalidInput

        with pytest.raises(InvalidInput) as caught:
            token_create(by=member, user=member, **kwargs)
        assert [e.field for e in caught.value.errors] == [field]
    assert ApiToken.objects.count() == 0
    assert audit_kinds() == before


def test_tokens_are_created_listed_and_revoked_over_the_api(client, member):
    writer, _ = token_create(by=member, user=member, name="admin script")
    r = client.post(
        "/api/v1/tokens",
        {"name": "nightly export", "scope": "read", "expires_in_days": 30},
        content_type="application/json",
        **bearer(writer),
    )
    assert r.status_code == 201
    created = r.json()
    raw = created["token"]
    assert raw.startswith("idk_") and created["prefix"] == raw[:12]
    assert (created["name"], created["scope"], created["state"]) == (
        "nightly export",
        "read",
        "active",
    )
    assert token_works(raw)

    listed = client.get("/api/v1/tokens", **bearer(raw)).json()
    assert [(t["name"], t["scope"], t["state"]) for t in listed] == [
        ("nightly export", "read", "active"),
        ("admin script", "write", "active"),
    ]
    assert all("token" not in t and "digest" not in t for t in listed)

    r = client.delete(f"/api/v1/tokens/{created['id']}", **bearer(writer))
    assert r.status_code == 200
    assert r.json()["state"] == "revoked"
    assert not token_works(raw)
    again = client.delete(f"/api/v1/tokens/{created['id']}", **bearer(writer))
    assert again.status_code == 409
    assert again.json()["detail"] == f"Token {created['prefix']}… is already revoked."

    kinds = [k for k, _ in audit_kinds()]
    assert kinds[-3:] == ["token_created", "token_created", "token_revoked"]
    _, data = audit_kinds()[-1]
    assert data == {
        "email": member.email,
        "prefix": created["prefix"],
        "name": "nightly export",
        "scope": "read",
        "reason": "revoked",
    }


def test_bad_token_requests_are_422_in_the_error_format(client, member):
    writer, _ = token_create(by=member, user=member)
    r = client.post(
        "/api/v1/tokens",
        {"scope": "root", "expires_in_days": -1, "colour": "red"},
        content_type="application/json",
        **bearer(writer),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"scope", "expires_in_days", "colour"}
    assert ApiToken.objects.count() == 1


def test_others_tokens_are_for_admins_only(client, member, member2, admin):
    theirs, their_token = token_create(by=member2, user=member2, name="theirs")
    mine, _ = token_create(by=member, user=member)
    r = client.get("/api/v1/tokens", {"email": member2.email}, **bearer(mine))
    assert r.status_code == 403
    r = client.delete(f"/api/v1/tokens/{their_token.pk}", **bearer(mine))
    assert r.status_code == 404
    assert token_works(theirs)

    admins, _ = token_create(by=admin, user=admin)
    listed = client.get("/api/v1/tokens", {"email": member2.email}, **bearer(admins)).json()
    assert [t["name"] for t in listed] == ["theirs"]
    assert client.delete(f"/api/v1/tokens/{their_token.pk}", **bearer(admins)).status_code == 200
    assert not token_works(theirs)
    assert audit_kinds()[-1][0] == "token_revoked"
    assert AuditEntry.objects.order_by("seq").last().actor == admin


def test_changing_the_password_revokes_every_token(client, member):
    raw, _ = token_create(by=member, user=member, name="laptop")
    raw2, _ = token_create(by=member, user=member, name="ci", scope="read")
    client.force_login(member)
    r = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-and-long-passphrase",
            "new_password2": "a-new-and-long-passphrase",
        },
        follow=True,
    )
    assert r.status_code == 200
    assert "Your API tokens were revoked with the old password" in r.content.decode()
    for token in (raw, raw2):
        assert not token_works(token)
    member.refresh_from_db()
    assert member.check_password("a-new-and-long-passphrase")
    tail = audit_kinds()[-3:]
    assert [k for k, _ in tail] == ["token_revoked", "token_revoked", "password_changed"]
    assert {d["reason"] for _, d in tail[:2]} == {"password_changed"}
    assert tail[2][1] == {"email": member.email, "tokens_revoked": 2}
    # the session survives its own password change
    assert client.get("/tokens/").status_code == 200


def test_a_refused_password_change_keeps_the_tokens(client, member):
    raw, _ = token_create(by=member, user=member)
    client.force_login(member)
    before = audit_kinds()
    r = client.post(
        "/password/",
        {"old_password": "wrong", "new_password1": "a-new-pass-9", "new_password2": "a-new-pass-9"},
    )
    assert r.status_code == 200
    assert token_works(raw)
    assert audit_kinds() == before


def test_deactivating_revokes_tokens_and_reactivating_does_not_bring_them_back(
    client, admin, member
):
    raw, _ = token_create(by=member, user=member)
    client.force_login(admin)
    client.post(f"/people/{member.pk}", {"active": "0"})
    client.post(f"/people/{member.pk}", {"active": "1"})
    member.refresh_from_db()
    assert member.is_active
    assert not token_works(raw)
    revoked = [d for k, d in audit_kinds() if k == "token_revoked"]
    assert [d["reason"] for d in revoked] == ["deactivated"]


def test_the_tokens_page_creates_shows_once_lists_and_revokes(client, member):
    client.force_login(member)
    page = client.get("/tokens/").content.decode()
    assert "Your API tokens" in page and "No tokens yet." in page
    r = client.post("/tokens/new", {"name": "grafana", "scope": "read", "expires_in_days": "90"})
    assert r.status_code == 201
    assert r["Cache-Control"] == "no-store"
    html = r.content.decode()
    raw = re.search(r'value="(idk_[^"]+)"', html).group(1)
    assert "it is shown this once and never again" in html
    assert token_works(raw)

    listing = client.get("/tokens/").content.decode()
    assert raw not in listing
    assert "grafana" in listing and f"{raw[:12]}…" in listing and "Read only" in listing
    token = ApiToken.objects.get()
    r = client.post(f"/tokens/{token.pk}/revoke", follow=True)
    assert f"Token {raw[:12]}… revoked: it no longer works." in r.content.decode()
    assert 'badge-muted">revoked<' in r.content.decode()
    assert not token_works(raw)


def test_a_bad_token_form_says_why_and_creates_nothing(client, member):
    client.force_login(member)
    r = client.post("/tokens/new", {"name": "x", "scope": "read", "expires_in_days": "0"})
    assert r.status_code == 422
    assert "Ensure this value is greater than or equal to 1." in r.content.decode()
    assert ApiToken.objects.count() == 0


def test_an_admin_revokes_from_the_persons_page_and_others_cannot(client, admin, member, member2):
    raw, token = token_create(by=member, user=member, name="laptop")
    client.force_login(member2)
    assert client.get(f"/people/{member.pk}/tokens/").status_code == 403
    assert client.post(f"/tokens/{token.pk}/revoke").status_code == 404
    assert token_works(raw)

    client.force_login(admin)
    people = client.get("/people/").content.decode()
    assert f'href="/people/{member.pk}/tokens/"' in people
    page = client.get(f"/people/{member.pk}/tokens/").content.decode()
    assert f"API tokens of {member.display_name}" in page and "laptop" in page
    r = client.post(f"/tokens/{token.pk}/revoke")
    assert r.status_code == 302 and r.url == f"/people/{member.pk}/tokens/"
    assert not token_works(raw)


@sqlite_only
def test_the_token_command_creates_lists_and_revokes(initialised_template, tmp_path):  # noqa: F811
    data_dir = fresh_copy(initialised_template, tmp_path / "data")
    run(
        data_dir,
        "createuser",
        "--email",
        "nora@northwind.test",
        "--password",
        PASSWORD,
        "--role",
        "member",
    )
    done = run(
        data_dir,
        "token",
        "create",
        "--email",
        "nora@northwind.test",
        "--name",
        "backup script",
        "--scope",
        "read",
        "--expires-in",
        "30",
    )
    raw = done.stdout.strip().splitlines()[-1]
    assert raw.startswith("idk_")
    assert "(read, expires " in done.stderr
    listing = run(data_dir, "token", "list").stdout.splitlines()
    assert listing[0].split() == [
        "ID",
        "PREFIX",
        "OWNER",
        "NAME",
        "SCOPE",
        "STATE",
        "EXPIRES",
        "LAST",
        "USED",
    ]
    assert raw[:12] in listing[1] and "backup script" in listing[1] and " read " in listing[1]
    assert raw not in "\n".join(listing)

    revoked = run(data_dir, "token", "revoke", raw[:12])
    assert revoked.stdout.strip() == f"Token {raw[:12]}… of nora@northwind.test revoked."
    assert run(data_dir, "token", "list").stdout.strip() == "No tokens."
    assert " revoked " in run(data_dir, "token", "list", "--all").stdout
    again = run(data_dir, "token", "revoke", raw[:12], check=False)
    assert again.returncode == 1 and "already revoked" in again.stderr
    bad = run(
        data_dir,
        "token",
        "create",
        "--email",
        "nora@northwind.test",
        "--expires-in",
        "0",
        check=False,
    )
    assert bad.returncode == 1 and "A token expires in 1 to 3650 days." in bad.stderr
    audit = run(
        data_dir,
        "manage",
        "shell",
        "--no-imports",
        "-c",
        "from incidentdesk.core.models import AuditEntry\n"
        "print([e.kind for e in AuditEntry.objects.order_by('seq')][-2:])",
    ).stdout.strip()
    assert audit == "['token_created', 'token_revoked']"
