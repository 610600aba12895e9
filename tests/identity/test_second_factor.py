"""An authenticator app (TOTP) and recovery codes: enrolment, the second step of a sign-in,
codes that work once, and a team that requires a second factor."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from django.test import Client

from incidentdesk.accounts.models import AuthenticatorApp, RecoveryCode
from incidentdesk.accounts.security_views import SETUP_SECRET
from incidentdesk.core import clock, crypto
from incidentdesk.core.models import AuditEntry
from incidentdesk.policy.loader import DEFAULT_POLICY_PATH
from incidentdesk.policy.services import policy_activate_text
from tests.conftest import PASSWORD

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def password_step(client: Client, email: str) -> str:
    answer = client.post("/login/", {"username": email, "password": PASSWORD})
    assert answer.status_code == 302
    return str(answer["Location"])


def enrol(client: Client, email: str) -> tuple[str, list[str]]:
    assert password_step(client, email) == "/"
    page = client.get("/account/authenticator")
    assert page.status_code == 200
    secret = client.session[SETUP_SECRET]
    assert secret in page.content.decode()  # the key to type when the QR code cannot be read
    assert b"<svg" in page.content
    done = client.post("/account/authenticator", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-7]{5}-[a-z2-7]{5})</code>", done.content.decode())
    assert len(codes) == 10
    return secret, codes


@pytest.fixture
def frozen():
    with clock.frozen(START) as c:
        yield c


def test_enrol_then_sign_in_with_a_code_from_the_app(member, frozen):
    client = Client()
    secret, _ = enrol(client, member.email)
    app = AuthenticatorApp.objects.get(user=member)
    assert secret not in app.secret_encrypted  # encrypted at rest
    assert crypto.decrypt(app.secret_encrypted) == secret
    assert AuditEntry.objects.filter(kind="second_factor_added").count() == 1

    client.post("/logout/")
    assert password_step(client, member.email) == "/login/verify"
    assert client.get("/").status_code == 302  # not signed in yet

    wrong = client.post("/login/verify", {"code": "000000"})
    assert b"That code is not right" in wrong.content
    # the code that enrolled the app is used: it cannot sign in again
    replay = client.post("/login/verify", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert b"That code is not right" in replay.content

    frozen.advance(seconds=30)
    signed = client.post("/login/verify", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert signed.status_code == 302 and signed["Location"] == "/"
    assert client.get("/").status_code == 200
    entry = AuditEntry.objects.filter(kind="signed_in").last()
    assert entry is not None and entry.data["method"] == "password and authenticator app"
    assert AuditEntry.objects.filter(kind="sign_in_failed", data__step="second factor").count() == 2


def test_a_recovery_code_signs_in_once(member, frozen):
    client = Client()
    _, codes = enrol(client, member.email)
    client.post("/logout/")

    password_step(client, member.email)
    assert client.post("/login/verify", {"code": codes[0].upper()}).status_code == 302
    assert RecoveryCode.objects.filter(user=member, used_at__isnull=False).count() == 1
    assert b"9 are left" in client.get("/").content
    client.post("/logout/")

    password_step(client, member.email)
    again = client.post("/login/verify", {"code": codes[0]})
    assert again.status_code == 200
    assert b"That code is not right" in again.content
    assert AuditEntry.objects.filter(kind="recovery_code_used").count() == 1


def test_five_wrong_codes_end_the_attempt(member, frozen):
    client = Client()
    enrol(client, member.email)
    client.post("/logout/")
    password_step(client, member.email)
    for _ in range(4):
        assert client.post("/login/verify", {"code": "123456"}).status_code == 200
    assert client.post("/login/verify", {"code": "123456"})["Location"] == "/login/"
    assert client.get("/login/verify")["Location"] == "/login/"


def test_the_second_step_expires(member, frozen):
    client = Client()
    secret, _ = enrol(client, member.email)
    client.post("/logout/")
    password_step(client, member.email)
    frozen.advance(minutes=6)
    late = client.post("/login/verify", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert late["Location"] == "/login/"


def test_removing_the_app_needs_the_password(member, frozen):
    client = Client()
    enrol(client, member.email)
    client.post("/account/authenticator/remove", {"password": "wrong"})
    assert AuthenticatorApp.objects.filter(user=member).exists()
    client.post("/account/authenticator/remove", {"password": PASSWORD})
    assert not AuthenticatorApp.objects.filter(user=member).exists()
    assert not RecoveryCode.objects.filter(user=member).exists()
    assert AuditEntry.objects.filter(kind="second_factor_removed").count() == 1


def test_required_second_factor_sends_the_team_to_enrolment_only(
    member, stakeholder, settings, frozen
):
    settings.REQUIRE_SECOND_FACTOR = True
    client = Client()
    assert password_step(client, member.email) == "/"
    for path in ("/", "/actions/", "/oncall/", "/comms/preferences/", "/status/manage/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"] == "/account/", path
    api = client.get("/api/v1/incidents")
    assert api.status_code == 403
    assert "second factor" in api.json()["detail"]
    account = client.get("/account/")
    assert b"Your team requires a second factor" in account.content

    secret = client.get("/account/authenticator") and client.session[SETUP_SECRET]
    client.post("/account/authenticator", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert client.get("/").status_code == 200

    # stakeholders are not the team: the portal stays open to a password
    other = Client()
    assert password_step(other, stakeholder.email).startswith("/portal/")
    assert other.get("/portal/").status_code == 200


def test_a_session_from_before_the_app_must_sign_in_again(member, settings, frozen):
    settings.REQUIRE_SECOND_FACTOR = True
    first, second = Client(), Client()
    password_step(second, member.email)  # a second session, on another device
    enrol(first, member.email)
    answer = second.get("/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_the_policy_requires_a_second_factor_of_the_roles_it_names(
    manager, member, settings, frozen
):
    """`[identity] require_second_factor` in the policy, the setting off: the roles it names
    need a second factor, the others do not; the setting on requires it of every team role."""
    settings.REQUIRE_SECOND_FACTOR = False
    text = DEFAULT_POLICY_PATH.read_text() + '\n[identity]\nrequire_second_factor = ["manager"]\n'
    policy_activate_text(by=manager, text=text, source="second factor for managers")

    managers, members = Client(), Client()
    password_step(managers, manager.email)
    password_step(members, member.email)
    answer = managers.get("/")
    assert answer.status_code == 302 and answer["Location"] == "/account/"
    assert b"Your team requires a second factor" in managers.get("/account/").content
    assert members.get("/").status_code == 200
    assert b"Your team requires a second factor" not in members.get("/account/").content

    settings.REQUIRE_SECOND_FACTOR = True  # either one requires it
    assert members.get("/")["Location"] == "/account/"
