from __future__ import annotations

import pytest
from django.test import Client

from incidentdesk.core.markdown import render_markdown
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_labels_fields():
    html = Client().get("/login/").content.decode()
    assert ">E-mail</label>" in html
    assert ">Password</label>" in html
    assert ">Log in</button>" in html


@pytest.mark.parametrize("who", ["admin", "manager", "member"])
def test_team_lands_on_queue(request, who):
    user = request.getfixturevalue(who)
    c = Client()
    r = c.post("/login/", {"username": user.email, "password": PASSWORD})
    assert r.status_code == 302 and r.url == "/"
    assert c.get("/").status_code == 200


def test_stakeholder_lands_on_portal(stakeholder):
    c = Client()
    r = c.post("/login/", {"username": stakeholder.email, "password": PASSWORD, "next": "/"})
    assert r.status_code == 302 and r.url == "/portal/"
    assert c.get("/").url == "/portal/"


def test_wrong_password_shows_error(member):
    r = Client().post("/login/", {"username": member.email, "password": "nope"})
    assert r.status_code == 200
    assert "correct" in r.content.decode()


def test_login_needs_csrf(member):
    c = Client(enforce_csrf_checks=True)
    r = c.post("/login/", {"username": member.email, "password": PASSWORD})
    assert r.status_code == 403


def test_logout_is_a_post(member):
    c = Client()
    c.force_login(member)
    assert c.get("/logout/").status_code == 405
    r = c.post("/logout/")
    assert r.status_code == 302 and r.url == "/login/"
    assert c.get("/").url.startswith("/login/")


def test_anonymous_is_sent_to_login():
    r = Client().get("/")
    assert r.status_code == 302 and r.url == "/login/?next=/"


def test_markdown_script_and_handlers_are_inert():
    html = str(
        render_markdown(
            "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) "
            "[ok](https://example.test)"
        )
    )
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<strong>b</strong>" in str(render_markdown("**b**"))


def test_password_change(member):
    c = Client()
    assert c.get("/password/").url.startswith("/login/")
    c.force_login(member)
    assert ">Old password</label>" in c.get("/password/").content.decode()
    r = c.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-secret-9",
            "new_password2": "another-long-secret-9",
        },
    )
    assert r.status_code == 302 and r.url == "/password/done/"
    member.refresh_from_db()
    assert member.check_password("another-long-secret-9")
