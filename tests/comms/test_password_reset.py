"""Password reset by e-mail: a real mail with a link that works once; the same answer for an
address that is not an account; limits per account and per client."""

from __future__ import annotations

import re

from django.test import Client

from incidentdesk.core.models import AuditEntry

from .conftest import deliver_due

NEW_PASSWORD = "a-new-and-long-passphrase-42"


def ask(client: Client, email: str) -> str:
    answer = client.post("/password/reset/", {"email": email})
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_link_by_mail_sets_a_new_password_once(smtp, stakeholder):
    client = Client()
    page = ask(client, stakeholder.email)
    assert "Check your e-mail" in page
    deliver_due()
    [mail] = smtp.to(stakeholder.email)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"\((http://[^)]+/password/reset/[^)]+)\)", text)
    assert link, text
    path = link.group(1).split("://", 1)[1].split("/", 1)[1]

    form = client.get(f"/{path}")
    assert b"Set a new password" in form.content
    done = client.post(f"/{path}", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/login/"
    assert client.post("/login/", {"username": stakeholder.email, "password": NEW_PASSWORD})[
        "Location"
    ].startswith("/portal/")
    again = Client().get(f"/{path}")
    assert again.status_code == 400
    assert b"This link no longer works" in again.content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(smtp, stakeholder):
    known = ask(Client(), stakeholder.email).replace(stakeholder.email, "ADDRESS")
    unknown = ask(Client(), "nobody@example.com").replace("nobody@example.com", "ADDRESS")
    # the pages differ only in the CSRF token
    strip = re.compile(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    deliver_due()
    assert smtp.to("nobody@example.com") == []
    assert len(smtp.to(stakeholder.email)) == 1


def test_requests_are_limited_per_account_and_per_client(smtp, stakeholder):
    for _ in range(5):
        ask(Client(REMOTE_ADDR="192.0.2.1"), stakeholder.email)
    deliver_due()
    assert len(smtp.to(stakeholder.email)) == 3
    client = Client(REMOTE_ADDR="192.0.2.9")
    for i in range(12):
        ask(client, f"someone{i}@example.com")
    assert (
        AuditEntry.objects.filter(
            kind="password_reset_requested", data__address="192.0.2.9"
        ).count()
        == 10
    )


def test_a_bad_or_forged_link_is_refused(stakeholder):
    assert Client().get("/password/reset/MQ/forged-token").status_code == 400
    assert Client().get("/password/reset/%F0%9F%98%80/x").status_code == 400
