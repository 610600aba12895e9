"""Login throttling: wrong passwords lock the account out from that address for a while."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from incidentdesk.core.models import AuditEntry

from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client: Client, email: str, password: str, address: str = "203.0.113.7"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_after_five_wrong_passwords_even_the_right_one_is_refused(member, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(4):
        r = login(client, member.email, "wrong-guess")
        assert r.status_code == 200
        assert "Please enter a correct" in r.content.decode()
    r = login(client, member.email, "wrong-guess")
    assert r.status_code == 429
    page = r.content.decode()
    assert "Too many failed logins" in page
    assert "locked for 15 minutes, even with the right password" in page

    r = login(client, member.email, PASSWORD)
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_forty_fast_guesses_do_not_get_through(member):
    client = Client()
    statuses = [login(client, member.email, f"guess-{n}").status_code for n in range(40)]
    assert statuses.count(429) == 36
    r = login(client, member.email, PASSWORD)
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    locks = [(e.data, e.actor_label) for e in AuditEntry.objects.filter(kind="login_locked_out")]
    assert locks == [({"email": member.email, "address": "203.0.113.7", "failures": 5}, "system")]


def test_the_lock_lifts_after_the_cool_off(member):
    client = Client()
    for _ in range(5):
        login(client, member.email, "wrong-guess")
    assert login(client, member.email, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    r = login(client, member.email, PASSWORD)
    assert r.status_code == 302 and r.url == "/"


def test_the_address_is_counted_whatever_its_case(member):
    client = Client()
    for n in range(5):
        login(client, member.email.upper() if n % 2 else member.email, "wrong-guess")
    assert login(client, member.email.title(), PASSWORD).status_code == 429


def test_a_lock_is_per_account_and_address(member, member2):
    for _ in range(5):
        login(Client(), member.email, "wrong-guess")
    elsewhere = login(Client(), member.email, PASSWORD, address="198.51.100.20")
    assert elsewhere.status_code == 302
    colleague = login(Client(), member2.email, PASSWORD)
    assert colleague.status_code == 302


def test_a_success_clears_earlier_failures(member):
    client = Client()
    for _ in range(4):
        login(client, member.email, "wrong-guess")
    assert login(client, member.email, PASSWORD).status_code == 302
    other = Client()
    for _ in range(4):
        assert login(other, member.email, "wrong-guess").status_code == 200
    assert login(other, member.email, PASSWORD).status_code == 302


def test_the_operator_lifts_a_lock_with_the_reset_command(member):
    for _ in range(5):
        login(Client(), member.email, "wrong-guess")
    out = io.StringIO()
    call_command("axes_reset_username", member.email, stdout=out)
    assert out.getvalue() == "1 attempts removed.\n"
    assert login(Client(), member.email, PASSWORD).status_code == 302
