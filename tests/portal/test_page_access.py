"""One access rule for every page (accounts/pages.py), asked of each kind of caller who may
not use a page: anonymous -> sign in; the other audience -> 403 naming whose page it is, with
a link home; an incident the caller may not see -> 404, the same as one that does not
exist; seen but not theirs to act on -> 403."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve

from incidentdesk.portal import services

# `/` is everyone's start page: it sends a stakeholder on to the portal, refusing nothing
TEAM_PAGES = [
    "/queue/live",
    "/incidents/{ref}",
    "/incidents/{ref}/review",
    "/incidents/{ref}/similar",
    "/insights/",
]
PORTAL_PAGES = ["/portal/", "/portal/{ref}/", "/portal/report/"]


@pytest.fixture
def reported(stakeholder):
    return services.portal_report(by=stakeholder, title="Checkout fails")


@pytest.mark.parametrize("page", TEAM_PAGES + PORTAL_PAGES)
def test_anonymous_callers_are_sent_to_sign_in(client, reported, page):
    url = page.format(ref=reported.ref)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_a_stakeholder_on_a_team_page_is_told_it_is_the_teams(client, reported, stakeholder, page):
    client.force_login(stakeholder)
    response = client.get(page.format(ref=reported.ref))
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page is for the Incident Management Team." in text
    assert '<a href="/portal/">' in text


@pytest.mark.parametrize("page", PORTAL_PAGES)
def test_a_team_member_on_a_portal_page_is_told_it_is_the_stakeholders(
    client, reported, member, page
):
    client.force_login(member)
    response = client.get(page.format(ref=reported.ref))
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page is for the people who report incidents to the team." in text
    assert '<a href="/">Go to the incident queue</a>' in text


def test_a_stakeholder_of_another_organisation_gets_the_404_of_a_missing_incident(
    client, reported, other_stakeholder
):
    client.force_login(other_stakeholder)
    theirs = client.get(f"/portal/{reported.ref}/")
    missing = client.get("/portal/INC-999999/")
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert b"Checkout fails" not in theirs.content


def test_a_member_may_see_an_incident_but_not_take_a_managers_action(client, reported, member):
    client.force_login(member)
    assert client.get(f"/incidents/{reported.ref}").status_code == 200
    response = client.post(f"/incidents/{reported.ref}/review/waive", {"reason": "no time"})
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


# -- every page of the team's, found from the URL resolver --------------------------------------


def _sample(group: re.Match[str]) -> str:
    """A value a regex parameter takes: an incident ref, the first of alternatives, a number."""
    regex = group.group(1)
    if "[Nn]" in regex:
        return "INC-1"
    return regex.split("|")[0] if "|" in regex else "1"


def _path(route: str) -> str:
    if route.startswith("^"):  # a regex route, possibly below a prefix
        route = re.sub(r"\(\?P<[a-z_]+>((?:[^()]|\([^()]*\))*)\)", _sample, route)
        route = route.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", route)


def _pages(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(a path that resolves to it, view) for every URL pattern, with a placeholder for each
    parameter (the access check answers before the view reads it)."""
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _pages(entry.url_patterns, route)
        else:
            found.append((_path(route), entry.callback))
    return found


TEAM_ONLY_PAGES = sorted(
    path
    for path, view in _pages(get_resolver().url_patterns)
    if getattr(view, "page_audience", "") == "team"
)


def test_the_resolver_finds_the_team_pages_of_every_app():
    for path in TEAM_ONLY_PAGES:
        assert getattr(resolve(path).func, "page_audience", "") == "team", path
    apps = {path.strip("/").split("/")[0] for path in TEAM_ONLY_PAGES}
    # the queue and incidents, reviews and insights, the status page's management, the policy's
    # guidelines, people, channels and deliveries, on-call and alert sources
    assert {"incidents", "insights", "status", "guidelines", "people", "comms", "oncall"} <= apps


def _ask(client: Client, path: str) -> HttpResponse:
    response = client.get(path)
    return client.post(path) if response.status_code == 405 else response


@pytest.mark.parametrize("path", TEAM_ONLY_PAGES)
def test_every_team_page_sends_an_anonymous_caller_to_sign_in(db, path):
    response = _ask(Client(), path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", TEAM_ONLY_PAGES)
def test_every_team_page_tells_a_stakeholder_it_is_the_teams(client, stakeholder, path):
    client.force_login(stakeholder)
    response = _ask(client, path)
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page is for the Incident Management Team." in text
    assert '<a href="/portal/">' in text
