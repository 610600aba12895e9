"""The main pages under the Content-Security-Policy: no violation, nothing from elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents.services import incident_report
from tests.browser.conftest import login
from tests.conftest import PASSWORD


class Watch:
    """CSP violations a page reports, and every request that left the product's own origin."""

    def __init__(self, page, origin: str) -> None:  # type: ignore[no-untyped-def]
        self.violations: list[str] = []
        self.outside: list[str] = []
        self.policies: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)

        def route(r):  # type: ignore[no-untyped-def]
            if urlsplit(r.request.url).netloc == origin:
                return r.continue_()
            self.outside.append(r.request.url)
            return r.abort()  # offline: nothing outside the product is reachable

        page.route("**/*", route)

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(message.text)

    def _response(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.request.resource_type == "document":
            self.policies.append(response.headers.get("content-security-policy", ""))


def _people():
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    nora = user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )
    incident = incident_report(by=nora, title="Search is very slow")
    return member, nora, incident


def test_team_portal_and_status_pages_run_under_the_policy(new_page, live_server):
    member, nora, incident = _people()
    origin = urlsplit(live_server.url).netloc

    team = new_page(csp=True)
    watch = Watch(team, origin)
    login(team, live_server.url, member.email, PASSWORD)
    for path in ("/", f"/incidents/{incident.ref}", "/tokens/", "/actions/"):
        team.goto(f"{live_server.url}{path}")
        team.wait_for_load_state("networkidle")
    # htmx works under the policy: the triage form asks the server for a suggestion
    team.goto(f"{live_server.url}/incidents/{incident.ref}")
    team.select_option("#triage-type", "performance")
    expect(team.locator("#triage-suggestion")).to_contain_text("Policy suggests:")

    portal = new_page(csp=True)
    portal_watch = Watch(portal, origin)
    login(portal, live_server.url, nora.email, PASSWORD)
    portal.goto(f"{live_server.url}/portal/")
    portal.wait_for_load_state("networkidle")
    portal.goto(f"{live_server.url}/status/")
    portal.wait_for_load_state("networkidle")
    expect(portal.locator("h1, .sp-brand").first).to_be_visible()

    for w in (watch, portal_watch):
        assert w.violations == []
        assert w.outside == []
        assert w.policies and all("script-src 'self'" in p for p in w.policies)
        assert not any("unsafe-inline" in p or "unsafe-eval" in p for p in w.policies)


def test_api_docs_render_the_operations_offline(new_page, live_server):
    page = new_page(csp=True)
    watch = Watch(page, urlsplit(live_server.url).netloc)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert len(paths) > 20
    assert any(p.replace("\u200b", "") == "/api/v1/tokens" for p in paths)
    assert watch.violations == []
    assert watch.outside == []
    assert "script-src 'self'" in watch.policies[0]
