"""An administrator adds a stakeholder organisation's identity provider in the pages, and a
person of that organisation signs in with it in Chromium: a real OpenID Connect provider
(oidc-provider, run with Node) on 127.0.0.1, back to the portal with their organisation's
incidents only."""

from __future__ import annotations

import pytest

from incidentdesk.accounts.models import IdentityProvider, User
from incidentdesk.incidents.services import incident_report
from tests.conftest import PASSWORD
from tests.identity.conftest import contoso_idp  # noqa: F401  (the fixture)
from tests.identity.providers import CLIENT_ID, CLIENT_SECRET

from .conftest import login, screenshot
from .test_sso import _sign_in_with_provider

pytestmark = pytest.mark.django_db(transaction=True)
FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_an_admin_adds_a_provider_and_its_people_sign_in_with_it(
    new_page,
    live_server,
    contoso_idp,  # noqa: F811
    admin,
    stakeholder,
    other_stakeholder,
):
    theirs = incident_report(by=other_stakeholder, title="Contoso tills cannot print")
    others = incident_report(by=stakeholder, title="Northwind scanners are down")

    page = new_page()
    login(page, live_server.url, admin.email, PASSWORD)
    page.goto(f"{live_server.url}/people/")
    page.get_by_role("link", name="Sign-in providers").click()
    page.get_by_label("Button name").fill("Contoso SSO")
    page.get_by_label("Short name (in the callback address)").fill("contoso")
    page.get_by_label("Issuer URL").fill(contoso_idp.issuer)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Scopes").fill("openid email profile groups")
    page.get_by_label("Role map").fill("it-support=stakeholder:Contoso")
    page.get_by_role("button", name="Add provider").click()
    page.wait_for_load_state("networkidle")
    assert "Contoso SSO is added" in page.content()
    callback = f"{live_server.url}/login/sso/contoso/callback"
    assert page.get_by_text(callback).is_visible()
    assert CLIENT_SECRET not in page.content()
    assert IdentityProvider.objects.get().enabled
    screenshot(page, "sign-in-providers")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate(FITS), "the providers page is wider than a phone"

    person = new_page(width=375)
    person.goto(f"{live_server.url}/login/")
    assert person.get_by_role("link", name="Sign in with Contoso SSO").is_visible()
    _sign_in_with_provider(person, live_server.url, "carla", "Sign in with Contoso SSO")
    assert "/portal/" in person.url
    text = person.content()
    assert theirs.title in text and others.title not in text
    carla = User.objects.get(email="carla@contoso.example")
    assert carla.organisation == other_stakeholder.organisation
    assert person.evaluate(FITS)
