"""Signing in through the company's identity provider in Chromium: a real OpenID Connect
provider (oidc-provider, run with Node) on 127.0.0.1, its own sign-in form, back to the team's
pages with the role its groups give."""

from __future__ import annotations

import pytest

from incidentdesk.accounts.models import User
from tests.identity.conftest import node_provider  # noqa: F401  (the fixture)

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_with_provider(  # type: ignore[no-untyped-def]
    page, base: str, login: str, button: str = "Sign in with Company SSO"
) -> None:
    # The test provider's own sign-in page asks for a web font and a favicon; no company's
    # provider page is ours to judge, and this machine has no way out.
    page.route(
        "https://fonts.googleapis.com/**",
        lambda route: route.fulfill(status=200, body="", content_type="text/css"),
    )
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    page.goto(f"{base}/login/")
    page.get_by_role("link", name=button).click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{base}/**")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", [1280, 375])
def test_manager_and_member_sign_in_with_the_provider(
    new_page,
    live_server,
    node_provider,  # noqa: F811
    width: int,
):
    login_page = new_page(width=width)
    login_page.goto(f"{live_server.url}/login/")
    assert login_page.get_by_role("link", name="Sign in with Company SSO").is_visible()
    if width == 1280:  # the helper takes both widths
        screenshot(login_page, "sign-in")

    for login, role in (("maria", "manager"), ("sam", "member")):
        page = new_page(width=width)
        _sign_in_with_provider(page, live_server.url, login)
        assert "/login/" not in page.url
        assert "Log out" in page.content()  # signed in (on a phone, inside the menu)
        assert User.objects.get(email=f"{login}@example.com").role == role
        width_ok = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert width_ok


def test_a_stakeholder_group_lands_in_the_portal(new_page, live_server, node_provider):  # noqa: F811
    page = new_page()
    _sign_in_with_provider(page, live_server.url, "carl")
    assert "/portal/" in page.url
    assert User.objects.get(email="carl@contoso.example").organisation.name == "Contoso"
