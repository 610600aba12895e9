"""A person's sessions on their account page: listed, ended one by one or all but this one."""

from __future__ import annotations

from django.test import Client

from incidentdesk.accounts.models import SignInSession
from incidentdesk.core.models import AuditEntry
from tests.conftest import PASSWORD


def signed_in(email: str, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    assert client.post("/login/", {"username": email, "password": PASSWORD}).status_code == 302
    return client


def test_end_another_session_then_all_but_this_one(member):
    laptop = signed_in(member.email, "Laptop browser")
    phone = signed_in(member.email, "Phone browser")
    tablet = signed_in(member.email, "Tablet browser")
    page = laptop.get("/account/").content.decode()
    assert "This browser" in page and "Phone browser" in page and "Tablet browser" in page

    phone_session = SignInSession.objects.get(user_agent="Phone browser")
    laptop.post(f"/account/sessions/{phone_session.pk}/end")
    assert phone.get("/")["Location"].startswith("/login/")
    assert tablet.get("/").status_code == 200

    laptop.post("/account/sessions/end")
    assert tablet.get("/")["Location"].startswith("/login/")
    assert laptop.get("/").status_code == 200
    assert AuditEntry.objects.filter(kind="sessions_ended").count() == 2


def test_nobody_ends_someone_elses_session(member, manager):
    mine = signed_in(member.email, "Member browser")
    theirs = signed_in(manager.email, "Manager browser")
    target = SignInSession.objects.get(user=manager)
    answer = mine.post(f"/account/sessions/{target.pk}/end", follow=True)
    assert b"No such session" in answer.content
    assert theirs.get("/").status_code == 200


def test_the_account_page_needs_a_sign_in(client):
    assert client.get("/account/")["Location"].startswith("/login/")
    assert client.post("/account/sessions/end")["Location"].startswith("/login/")
