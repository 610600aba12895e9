"""Single sign-on through a real OpenID Connect provider, and the answers it must refuse."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest
import requests

from incidentdesk.accounts import rolemap, sso
from incidentdesk.accounts.models import ExternalIdentity, User
from incidentdesk.core.models import AuditEntry
from tests.conftest import PASSWORD

from .conftest import PEOPLE, configure
from .providers import ForgedProvider

pytestmark = pytest.mark.django_db(transaction=True)


def _to_callback(
    session: requests.Session, base: str, login: str, start: str = "/login/sso/"
) -> str:
    """Start at a sign-in button, sign in at the provider; the URL it sends the browser to."""
    page = session.get(f"{base}{start}")
    assert page.status_code == 200, page.text
    action = re.search(r'action="([^"]+)"', page.text)
    assert action, page.text
    answer = session.post(
        urllib.parse.urljoin(page.url, action.group(1)),
        data={"prompt": "login", "login": login, "password": "any"},
        allow_redirects=False,
    )
    # the provider resumes the authorization, then redirects to our callback
    while answer.status_code in (302, 303):
        target = urllib.parse.urljoin(answer.url, answer.headers["Location"])
        if target.startswith(base):
            return target
        answer = session.get(target, allow_redirects=False)
    raise AssertionError(f"the provider did not send us back: {answer.status_code} {answer.text}")


def sign_in(base: str, login: str, start: str = "/login/sso/") -> requests.Response:
    session = requests.Session()
    return session.get(_to_callback(session, base, login, start))


def test_the_manager_and_the_member_land_with_their_roles(node_provider, live_server):
    maria = sign_in(live_server.url, "maria")
    assert maria.status_code == 200
    assert urllib.parse.urlsplit(maria.url).path == "/"
    sam = sign_in(live_server.url, "sam")
    assert sam.status_code == 200
    assert User.objects.get(email="maria@example.com").role == "manager"
    assert User.objects.get(email="sam@example.com").role == "member"
    assert not User.objects.get(email="sam@example.com").has_usable_password()
    kinds = list(AuditEntry.objects.values_list("kind", flat=True))
    assert kinds.count("sso_account_created") == 2
    assert kinds.count("signed_in") == 2


def test_a_stakeholder_group_signs_in_to_its_organisation_in_the_portal(node_provider, live_server):
    carl = sign_in(live_server.url, "carl")
    assert urllib.parse.urlsplit(carl.url).path.startswith("/portal/")
    user = User.objects.get(email="carl@contoso.example")
    assert (user.role, user.organisation.name) == ("stakeholder", "Contoso")


def test_a_new_group_gives_the_new_role_at_the_next_sign_in(node_provider, live_server):
    sign_in(live_server.url, "sam")
    moved = {**PEOPLE, "sam": {**PEOPLE["sam"], "groups": ["incident-managers"]}}
    node_provider.set_people(moved)
    sign_in(live_server.url, "sam")
    assert User.objects.get(email="sam@example.com").role == "manager"
    change = AuditEntry.objects.get(kind="sso_role_changed")
    assert change.data["from"]["role"] == "member"
    assert change.data["to"]["role"] == "manager"


def test_no_mapped_group_is_refused_and_a_removed_person_loses_access(node_provider, live_server):
    olga = sign_in(live_server.url, "olga")
    assert olga.status_code == 403
    assert "not in a group that gives access" in olga.text
    assert not User.objects.filter(email="olga@example.com").exists()

    session = requests.Session()
    session.get(_to_callback(session, live_server.url, "sam"))
    assert session.get(f"{live_server.url}/").status_code == 200
    node_provider.set_people({**PEOPLE, "sam": {**PEOPLE["sam"], "groups": ["everyone"]}})
    refused = sign_in(live_server.url, "sam")
    assert refused.status_code == 403
    # the earlier session ended with the access, not when it would have expired
    assert "/login/" in session.get(f"{live_server.url}/").url
    assert AuditEntry.objects.filter(kind="sso_access_removed").count() == 1


def test_an_account_deactivated_here_stays_out(node_provider, live_server):
    sign_in(live_server.url, "sam")
    User.objects.filter(email="sam@example.com").update(is_active=False)
    refused = sign_in(live_server.url, "sam")
    assert refused.status_code == 403
    assert "deactivated" in refused.text
    assert not User.objects.get(email="sam@example.com").is_active


def test_an_existing_account_is_linked_only_by_a_verified_address(
    node_provider, live_server, member
):
    node_provider.set_people(
        {"sam": {**PEOPLE["sam"], "email": member.email, "email_verified": False}}
    )
    refused = sign_in(live_server.url, "sam")
    assert refused.status_code == 403
    assert "not say that this address is verified" in refused.text
    assert not ExternalIdentity.objects.exists()

    node_provider.set_people({"sam": {**PEOPLE["sam"], "email": member.email}})
    assert sign_in(live_server.url, "sam").status_code == 200
    assert ExternalIdentity.objects.get().user == member


def test_tampered_state_is_refused(node_provider, live_server):
    session = requests.Session()
    callback = _to_callback(session, live_server.url, "maria")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    answer = session.get(forged)
    assert answer.status_code == 400
    assert "could not be completed or was not genuine" in answer.text
    assert not User.objects.filter(email="maria@example.com").exists()


@pytest.mark.parametrize("mode", ["other_key", "wrong_nonce"])
def test_a_forged_id_token_is_refused(settings, live_server, mode):
    with ForgedProvider(mode).running() as forged:
        configure(settings, issuer=forged.issuer, base_url=live_server.url)
        answer = requests.get(f"{live_server.url}/login/sso/")
    sso._client.cache_clear()
    assert answer.status_code == 400
    assert "could not be completed or was not genuine" in answer.text
    assert not User.objects.filter(email="mallory@example.com").exists()
    assert AuditEntry.objects.filter(kind="sign_in_failed").exists()


def test_the_forged_provider_signs_in_when_honest(settings, live_server):
    """The refusals above come from the defect in each token, not from the forged provider."""
    with ForgedProvider("honest").running() as honest:
        configure(settings, issuer=honest.issuer, base_url=live_server.url)
        answer = requests.get(f"{live_server.url}/login/sso/")
    sso._client.cache_clear()
    assert answer.status_code == 200, answer.text
    assert User.objects.get(email="mallory@example.com").role == "manager"


def test_team_password_sign_in_can_be_turned_off(node_provider, live_server, member, settings):
    settings.TEAM_PASSWORD_LOGIN = False
    session = requests.Session()
    page = session.get(f"{live_server.url}/login/")
    assert "Sign in with Company SSO" in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    answer = session.post(
        f"{live_server.url}/login/",
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": member.email,
            "password": PASSWORD,
        },
        headers={"Referer": f"{live_server.url}/login/"},
    )
    assert "The team signs in with Company SSO" in answer.text


def test_the_sign_in_button_is_absent_without_a_provider(client):
    assert b"/login/sso/" not in client.get("/login/").content
    assert client.get("/login/sso/").status_code == 404


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("helpdesk", "is not 'claim value=role'"),
        ("helpdesk=boss", "names the role 'boss'"),
        ("shops=stakeholder", "belongs to an organisation"),
        ("ops=member:Contoso", "only stakeholders"),
    ],
)
def test_a_bad_role_map_says_what_is_wrong(text: str, problem: str):
    with pytest.raises(rolemap.RoleMapError, match=re.escape(problem)):
        rolemap.parse(text)


def test_the_widest_mapped_role_wins_and_nested_claims_are_read():
    entries = rolemap.parse("ops=member,leads=manager")
    claims: dict[str, Any] = {"realm_access": {"roles": ["ops", "leads"]}}
    grant = rolemap.grant_for(claims, "realm_access.roles", entries)
    assert grant == rolemap.Grant("manager")
    assert rolemap.grant_for({"groups": "ops"}, "groups", entries) == rolemap.Grant("member")
    assert rolemap.grant_for({"groups": ["x"]}, "groups", entries) is None
