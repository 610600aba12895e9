"""An authenticator app in Chromium: set it up from the account page, sign in with a code the
test computes from the key shown, and with a recovery code, once."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.conftest import PASSWORD

from .conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()


@pytest.mark.parametrize("width", [1280, 375])
def test_set_up_an_app_and_sign_in_with_its_code_and_a_recovery_code(
    new_page, live_server, member, width: int
):
    page = new_page(width=width)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(f"{live_server.url}/account/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    assert page.locator(".qr svg").is_visible()
    if width == 1280:  # the helper takes both widths
        screenshot(page, "authenticator-setup")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("The code your app shows").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )

    # the next code (a phone a little ahead is allowed; the code just used is not)
    _log_out(page)
    login(page, live_server.url, member.email, PASSWORD)
    assert page.url.endswith("/login/verify")
    if width == 1280:  # the helper takes both widths
        screenshot(page, "sign-in-second-step")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/"

    for attempt in range(2):
        _log_out(page)
        login(page, live_server.url, member.email, PASSWORD)
        page.get_by_label("Code").fill(codes[3])
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state("networkidle")
        if attempt == 0:
            assert page.url == f"{live_server.url}/"
            assert "9 are left" in page.content()
        else:
            assert page.url.endswith("/login/verify")
            assert "That code is not right, or was used already." in page.content()
