"""Passkeys in Chromium, with its virtual authenticator (the DevTools WebAuthn domain): add one
from the account page, then sign in with it alone; a removed passkey no longer signs in."""

from __future__ import annotations

import pytest

from incidentdesk.accounts.models import Passkey
from incidentdesk.core.models import AuditEntry
from tests.conftest import PASSWORD

from .conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def virtual_authenticator(page) -> str:  # type: ignore[no-untyped-def]
    """A platform authenticator with a resident key store and a verified user (a fingerprint)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(added["authenticatorId"])


@pytest.mark.parametrize("width", [1280, 375])
def test_add_a_passkey_then_sign_in_with_it_alone(new_page, live_server, member, settings, width):
    settings.BASE_URL = live_server.url  # the relying party: the address people use
    page = new_page(width=width)
    virtual_authenticator(page)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/account/")
    page.get_by_label("Name for a new passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{live_server.url}/account/")
    page.get_by_text("Your passkey is saved").wait_for()
    assert page.get_by_text("Work laptop").is_visible()
    if width == 1280:  # the helper takes both widths
        screenshot(page, "account-passkeys")
    passkey = Passkey.objects.get(user=member)
    assert passkey.name == "Work laptop"

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    assert "Log out" in page.content()
    assert AuditEntry.objects.filter(kind="signed_in", data__method="passkey").count() == 1
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None


def test_a_passkey_not_known_here_is_refused(new_page, live_server, member, settings):
    settings.BASE_URL = live_server.url
    page = new_page()
    virtual_authenticator(page)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/account/")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Your passkey is saved").wait_for()
    page.get_by_role("button", name="Remove").click()
    page.get_by_text("The passkey is removed").wait_for()
    assert not Passkey.objects.exists()

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    # the authenticator still holds the credential; the server no longer knows it
    with page.expect_response("**/login/passkey") as answer:
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert answer.value.status == 400
    page.get_by_text("That passkey is not known here").wait_for()
    assert "/login/" in page.url
    assert AuditEntry.objects.filter(kind="sign_in_failed", data__step="passkey").count() == 1
    refused = [e for e in new_page.errors if "/login/passkey" in e]
    assert refused  # the browser saw the 400: the expected refusal, and no other error
    for error in refused:
        new_page.errors.remove(error)
