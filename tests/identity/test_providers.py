"""Identity providers added in the administrators' pages: two real OpenID Connect providers
(oidc-provider, run with Node) side by side, the environment's and an added one for a
stakeholder organisation; who may manage them; what the form refuses."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
import requests
from django.test import Client

from incidentdesk.accounts import provider_services
from incidentdesk.accounts.models import ExternalIdentity, IdentityProvider, User
from incidentdesk.core import crypto
from incidentdesk.core.errors import Conflict
from incidentdesk.core.models import AuditEntry
from incidentdesk.incidents.services import incident_report

from .conftest import configure
from .providers import CLIENT_ID, CLIENT_SECRET, ForgedProvider
from .test_sso import _to_callback, sign_in


def form(at: str, **changes: str) -> dict[str, str]:
    """The provider form as an administrator fills it in, for the issuer `at`."""
    return {
        "name": "Contoso SSO",
        "slug": "contoso",
        "issuer": at,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": "openid email profile groups",
        "roles_claim": "groups",
        "role_map": "it-support=stakeholder:Contoso",
        "enabled": "on",
        **changes,
    }


def admin_client(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.django_db(transaction=True)
def test_an_added_provider_signs_its_people_in_to_their_organisation_only(
    node_provider, contoso_idp, live_server, settings, admin, stakeholder, other_stakeholder
):
    theirs = incident_report(by=other_stakeholder, title="Contoso tills cannot print")
    others = incident_report(by=stakeholder, title="Northwind scanners are down")
    assert other_stakeholder.organisation.name == "Contoso"

    added = admin_client(admin).post("/people/providers/new", form(contoso_idp.issuer))
    assert added.status_code == 302, added.content.decode()
    provider = IdentityProvider.objects.get()
    assert CLIENT_SECRET not in provider.client_secret_encrypted
    assert crypto.decrypt(provider.client_secret_encrypted) == CLIENT_SECRET
    entry = AuditEntry.objects.get(kind="identity_provider_added")
    assert entry.actor == admin and entry.data["provider"] == "Contoso SSO"
    assert CLIENT_SECRET not in json.dumps(entry.data)

    login = requests.get(f"{live_server.url}/login/").text
    assert "Sign in with Company SSO" in login and "Sign in with Contoso SSO" in login

    session = requests.Session()
    portal = session.get(_to_callback(session, live_server.url, "carla", "/login/sso/contoso/"))
    assert portal.status_code == 200
    assert urllib.parse.urlsplit(portal.url).path == "/portal/"
    assert theirs.title in portal.text and others.title not in portal.text
    carla = User.objects.get(email="carla@contoso.example")
    assert (carla.role, carla.organisation_id) == ("stakeholder", other_stakeholder.organisation_id)
    link = ExternalIdentity.objects.get(user=carla)
    assert (link.provider, link.issuer) == (provider, contoso_idp.issuer)
    assert session.get(f"{live_server.url}/oncall/").status_code == 403  # the team's
    account = session.get(f"{live_server.url}/account/").text
    assert "Contoso SSO (since" in account

    # the environment's provider keeps its own addresses, beside the added one
    maria = sign_in(live_server.url, "maria")
    assert urllib.parse.urlsplit(maria.url).path == "/"
    assert ExternalIdentity.objects.get(user__email="maria@example.com").provider is None

    refused = sign_in(live_server.url, "nobody", "/login/sso/contoso/")
    assert refused.status_code == 403
    assert "not in a group that gives access" in refused.text


@pytest.mark.django_db(transaction=True)
def test_one_providers_answer_is_refused_at_anothers_callback(
    node_provider, contoso_idp, live_server, admin
):
    admin_client(admin).post("/people/providers/new", form(contoso_idp.issuer))
    session = requests.Session()
    callback = _to_callback(session, live_server.url, "carla", "/login/sso/contoso/")
    assert "/login/sso/contoso/callback?" in callback
    elsewhere = session.get(callback.replace("/login/sso/contoso/callback", "/login/sso/callback"))
    assert elsewhere.status_code == 400
    assert "could not be completed or was not genuine" in elsewhere.text
    assert not User.objects.filter(email="carla@contoso.example").exists()


@pytest.mark.django_db(transaction=True)
def test_a_switched_off_provider_has_no_button_and_no_callback(contoso_idp, live_server, admin):
    client = admin_client(admin)
    client.post("/people/providers/new", form(contoso_idp.issuer))
    provider = IdentityProvider.objects.get()
    assert (
        client.post(f"/people/providers/{provider.pk}/enabled", {"enabled": "0"}).status_code == 302
    )
    assert "Contoso SSO" not in requests.get(f"{live_server.url}/login/").text
    assert requests.get(f"{live_server.url}/login/sso/contoso/").status_code == 404
    assert requests.get(f"{live_server.url}/login/sso/contoso/callback").status_code == 404
    assert AuditEntry.objects.filter(kind="identity_provider_disabled").count() == 1

    client.post(f"/people/providers/{provider.pk}/enabled", {"enabled": "1"})
    assert sign_in(live_server.url, "carla", "/login/sso/contoso/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_secret_is_never_shown_and_an_empty_one_keeps_it(contoso_idp, live_server, admin):
    client = admin_client(admin)
    client.post("/people/providers/new", form(contoso_idp.issuer))
    provider = IdentityProvider.objects.get()
    for page in ("/people/providers/", f"/people/providers/{provider.pk}"):
        text = client.get(page).content.decode()
        assert CLIENT_SECRET not in text and provider.client_secret_encrypted not in text
    assert "stored (never shown)" in client.get("/people/providers/").content.decode()

    changed = client.post(
        f"/people/providers/{provider.pk}",
        form(contoso_idp.issuer, name="Contoso staff", client_secret="", slug="ignored"),
    )
    assert changed.status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.slug) == ("Contoso staff", "contoso")
    assert crypto.decrypt(provider.client_secret_encrypted) == CLIENT_SECRET
    entry = AuditEntry.objects.get(kind="identity_provider_changed")
    assert entry.data["changed"] == ["name"]
    # a new secret is noted as changed, never written down
    client.post(
        f"/people/providers/{provider.pk}",
        form(contoso_idp.issuer, name="Contoso staff", client_secret="a-new-secret"),
    )
    last = AuditEntry.objects.filter(kind="identity_provider_changed").latest("seq")
    assert last.data["changed"] == ["client_secret"] and "a-new-secret" not in json.dumps(last.data)
    assert sign_in(live_server.url, "carla", "/login/sso/contoso/").status_code == 400  # wrong now


@pytest.mark.django_db(transaction=True)
def test_deleting_a_provider_keeps_its_accounts_and_the_same_issuer_finds_them_again(
    contoso_idp, live_server, admin
):
    client = admin_client(admin)
    client.post("/people/providers/new", form(contoso_idp.issuer))
    sign_in(live_server.url, "carla", "/login/sso/contoso/")
    provider = IdentityProvider.objects.get()
    assert client.post(f"/people/providers/{provider.pk}/delete").status_code == 302
    assert not IdentityProvider.objects.exists()
    link = ExternalIdentity.objects.get()
    assert link.provider is None and link.user.is_active
    assert AuditEntry.objects.get(kind="identity_provider_deleted").data["linked_accounts"] == 1

    client.post("/people/providers/new", form(contoso_idp.issuer))
    assert sign_in(live_server.url, "carla", "/login/sso/contoso/").status_code == 200
    link.refresh_from_db()
    assert link.provider == IdentityProvider.objects.get()
    assert User.objects.filter(email="carla@contoso.example").count() == 1


# -- discovery and the form's refusals ---------------------------------------------------------


def _refused(client: Client, data: dict[str, str]) -> str:
    before = AuditEntry.objects.count()
    answer = client.post("/people/providers/new", data)
    assert answer.status_code == 422, answer.status_code
    assert not IdentityProvider.objects.exists()
    assert AuditEntry.objects.count() == before
    text = answer.content.decode()
    assert CLIENT_SECRET not in text  # a refused form does not echo the secret either
    return text


def test_an_issuer_without_a_discovery_document_is_refused_with_its_reason(db, admin):
    client = admin_client(admin)
    with ForgedProvider("honest").running() as idp:
        gone = _refused(client, form(f"{idp.issuer}/realms/none"))
        assert "/realms/none/.well-known/openid-configuration answered 404" in gone
        host = idp.issuer.replace("127.0.0.1", "localhost")
        other = _refused(client, form(host))
        assert f"names the issuer &#x27;{idp.issuer}&#x27;, not &#x27;{host}&#x27;" in other
        assert client.post("/people/providers/new", form(idp.issuer)).status_code == 302
    IdentityProvider.objects.all().delete()
    unreachable = _refused(client, form(idp.issuer))
    assert "could not be reached (ConnectionError)" in unreachable


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": "x" * 61}, "at most 60 characters"),
        ({"name": "Contoso\x00SSO"}, "Null characters are not allowed"),
        ({"issuer": "https://sso.example.com/\x1b[31m"}, "one line, without control characters"),
        ({"client_id": "incident\ndesk"}, "one line, without control characters"),
        ({"client_secret": "s\x7fcret"}, "one line, without control characters"),
        ({"issuer": "ftp://sso.example.com"}, "The issuer is an address like"),
        ({"issuer": "https://me:pw@sso.example.com"}, "no query, fragment, user name or password"),
        ({"issuer": "https://" + "a" * 250 + ".com"}, "at most 255 characters"),
        ({"role_map": "it-support=boss"}, "names the role &#x27;boss&#x27;"),
        ({"role_map": "it-support=stakeholder"}, "a stakeholder belongs to an organisation"),
        ({"role_map": " , "}, "Without a role map nobody could sign in"),
        ({"role_map": "a=member," * 300}, "at most 2000 characters"),
        ({"slug": "Контосо"}, "The short name is 1 to 40 lower-case letters"),
        ({"slug": "callback"}, "The short name is 1 to 40 lower-case letters"),
        ({"scopes": "email profile"}, "The scopes include openid"),
        ({"roles_claim": "my groups"}, "A claim&#x27;s name has no spaces"),
    ],
)
def test_the_form_refuses_hostile_input_and_saves_nothing(
    db, admin, changes: dict[str, str], says: str
):
    text = _refused(admin_client(admin), form("https://sso.example.com", **changes))
    assert says.lower() in text.lower()


def test_a_name_with_control_characters_is_saved_without_them(db, admin):
    data = provider_services._checked(
        provider_services.ProviderInput(
            name="Contoso\x07 SSO\u0085",
            issuer="https://sso.example.com/",
            client_id="id",
            role_map="staff=member\nleads=manager",
        ),
        creating=True,
    )
    assert (data.name, data.slug, data.issuer) == (
        "Contoso SSO",
        "contoso-sso",
        "https://sso.example.com",
    )
    assert data.role_map == "staff=member, leads=manager"


def test_a_plain_http_issuer_is_refused_when_incidentdesk_is_on_https(db, admin, settings):
    settings.HTTPS, settings.BASE_URL = True, "https://incidents.example.com"
    text = _refused(admin_client(admin), form("http://sso.example.com"))
    assert "its issuer starts with https://" in text


# -- who may manage providers: the answers of accounts/pages.py -------------------------------


@pytest.fixture
def existing(db, admin, settings) -> IdentityProvider:
    with ForgedProvider("honest").running() as idp:
        return provider_services.provider_create(
            by=admin,
            data=provider_services.ProviderInput(
                name="Contoso SSO",
                issuer=idp.issuer,
                client_id="id",
                client_secret="s3cret",
                role_map="s=member",
            ),
        )


def _attempts(provider: IdentityProvider, issuer: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("get", "/people/providers/", {}),
        ("post", "/people/providers/new", form(issuer, slug="another")),
        ("get", f"/people/providers/{provider.pk}", {}),
        ("post", f"/people/providers/{provider.pk}", form(issuer, name="Taken over")),
        ("post", f"/people/providers/{provider.pk}/enabled", {"enabled": "0"}),
        ("post", f"/people/providers/{provider.pk}/delete", {}),
    ]


@pytest.mark.parametrize("who", ["manager", "member", "stakeholder", "anonymous"])
def test_only_an_administrator_manages_providers(request, existing, who: str):
    client = Client()
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    before = AuditEntry.objects.count()
    for method, path, data in _attempts(existing, existing.issuer):
        answer = getattr(client, method)(path, data)
        if who == "anonymous":
            assert answer.status_code == 302, path
            assert answer["Location"].startswith("/login/?next="), path
        elif who == "stakeholder":
            assert answer.status_code == 403, path
            assert "This page is for the Incident Management Team." in answer.content.decode()
        else:
            assert answer.status_code == 403, path
            assert "Your role may not manage." in answer.content.decode(), path
    existing.refresh_from_db()
    assert (existing.name, existing.enabled) == ("Contoso SSO", True)
    assert IdentityProvider.objects.count() == 1
    assert AuditEntry.objects.count() == before


def test_an_unknown_provider_is_not_found_and_the_login_page_has_no_stray_button(db, admin):
    assert admin_client(admin).get("/people/providers/999").status_code == 404
    assert Client().get("/login/sso/unknown/").status_code == 404
    assert b"sign-in-providers" not in Client().get("/login/").content


def test_people_links_to_the_providers(db, admin, settings):
    text = admin_client(admin).get("/people/").content.decode()
    assert 'href="/people/providers/"' in text


def test_the_environments_provider_is_shown_read_only(db, admin, settings):
    configure(settings, issuer="https://sso.example.com/realms/company", base_url="https://x.test")
    text = admin_client(admin).get("/people/providers/").content.decode()
    assert "from the environment" in text
    assert "https://x.test/login/sso/callback" in text
    assert "/people/providers/None" not in text
    assert re.search(r"Company SSO\s*<span", text)
    # its issuer is taken
    configure(settings, issuer="https://sso.example.com", base_url="https://x.test")
    assert "already set up" in _conflict(admin, "https://sso.example.com")


def _conflict(admin: User, issuer: str) -> str:
    with pytest.raises(Conflict) as refused:
        provider_services._unique(
            provider_services.ProviderInput(
                name="n", issuer=issuer, client_id="c", role_map="a=member", slug="n"
            ),
            None,
        )
    return str(refused.value.errors[0].message)


def test_a_secret_stored_under_another_key_says_so_at_sign_in(existing, settings):
    settings.SECRET_KEY = "a restore without the backup's passphrase"
    answer = Client().get(f"/login/sso/{existing.slug}/")
    assert answer.status_code == 503
    assert "An administrator must enter the secret again." in answer.content.decode()
