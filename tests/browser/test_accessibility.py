"""Every page, as each role sees it with the demo's data, passes axe-core's WCAG 2.1 A/AA rules
in Chromium: no violation of impact "serious" or "critical", no duplicate id and no label or
ARIA reference to a missing id. Forms are also audited showing their errors, and the queue and
an incident page at 375 px wide. axe-core is vendored in tests/browser/vendor/axe-core/."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentdesk.demo import loader
from incidentdesk.incidents.models import Incident
from incidentdesk.policy.selectors import active_policy
from incidentdesk.portal.demo import DEMO_TITLE
from incidentdesk.reviews.models import Review
from incidentdesk.statuspage import cache
from incidentdesk.statuspage.models import Maintenance, Publication

from .conftest import login

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""

# axe 4.x no longer checks plain duplicate ids, and reports a reference to a missing id only as
# "incomplete": both break the label or description a screen reader announces
ID_PROBLEMS = """() => {
  const seen = new Set(), problems = new Set();
  document.querySelectorAll('[id]').forEach(e => {
    if (seen.has(e.id)) problems.add(`duplicate id "${e.id}"`);
    seen.add(e.id);
  });
  const refs = ['for', 'aria-describedby', 'aria-labelledby', 'aria-controls', 'aria-errormessage'];
  for (const name of refs) {
    document.querySelectorAll(`[${name}]`).forEach(e => {
      for (const id of e.getAttribute(name).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) problems.add(`${name}="${id}" names no element`);
      }
    });
  }
  return [...problems];
}"""

LOGIN = {
    "admin": "admin@spacewise.example",
    "manager": "manager@spacewise.example",
    "member": "alex@spacewise.example",
    "stakeholder": "ops@northwind.example",
}


@pytest.fixture(autouse=True)
def _attachments(settings, tmp_path):
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"


@pytest.fixture
def demo(transactional_db) -> dict[str, str]:
    """Loads the demo; returns the references the page list needs."""
    cache.clear()
    loader.load()
    incident = Incident.objects.get
    reviews = Review.objects.select_related("incident").order_by("-pk")
    draft, done = reviews.filter(state="draft").first(), reviews.filter(state="published").first()
    published = Publication.objects.filter(withdrawn_at=None).order_by("-published_at").first()
    guideline = active_policy()[1].guidelines[0]
    assert draft and done and published
    return {
        "inc": incident(title__startswith="Point-of-sale sync").ref,
        "new": incident(title=DEMO_TITLE).ref,
        "private": incident(title__startswith="Suspicious logins").ref,
        "rejected": incident(status="rejected").ref,
        "draft": draft.incident.ref,
        "reviewed": done.incident.ref,
        "published": published.incident.ref,
        "public_id": str(published.pk),
        "guideline": f"{guideline.type}/{guideline.severity or 'any'}",
        "maintenance": str(Maintenance.objects.order_by("pk").values_list("pk", flat=True)[0]),
    }


TEAM = [
    "/",
    "/home",
    "/incidents/{inc}",
    "/incidents/{new}",
    "/incidents/{private}",
    "/incidents/{rejected}",
    "/incidents/{inc}/communications",
    "/incidents/{new}/similar",
    "/incidents/{draft}/review",
    "/incidents/{reviewed}/review",
    "/actions/",
    "/mail/held",
    "/comms/preferences/",
    "/status/manage/",
    "/status/manage/incidents/{published}",
    "/password/",
]
PAGES = {
    "manager": [
        *TEAM,
        "/guidelines/",
        "/guidelines/in-place/",
        "/guidelines/new/",
        "/guidelines/{guideline}/",
        "/insights/",
    ],
    "member": TEAM,
    "admin": ["/people/", "/comms/channels/", "/comms/deliveries/"],
    "stakeholder": [
        "/portal/",
        "/portal/report/",
        "/portal/{new}/",
        "/portal/{inc}/",
        "/comms/preferences/",
    ],
    "anonymous": [
        "/login/",
        "/status/",
        "/status/history/",
        "/status/incidents/{public_id}/",
        "/status/maintenance/{maintenance}/",
        "/status/subscribe/",
    ],
}


def audit(page, url: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """The serious and critical violations on `url` (or on the page as it is), one line each."""
    if url is None:
        url = f"{page.url} (as shown)"
    else:
        page.goto(url)
    # closed <details> hide forms from axe: audit them open
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.add_script_tag(path=str(AXE))
    found = [f"{url}: {problem}" for problem in page.evaluate(ID_PROBLEMS)]
    for v in page.evaluate(RUN_AXE, TAGS):
        if v["impact"] in BLOCKING:
            targets = ", ".join(v["targets"][:4])
            more = f" (+{len(v['targets']) - 4} more)" if len(v["targets"]) > 4 else ""
            found.append(
                f"{url}: {v['id']} [{v['impact']}] {v['help']} "
                f"({len(v['targets'])}x) at {targets}{more}"
            )
    return found


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_passes_axe_for_its_role(role, new_page, live_server, demo):
    page = new_page()
    if role in LOGIN:
        login(page, live_server.url, LOGIN[role], loader.PASSWORD)
    violations = []
    for path in PAGES[role]:
        violations += audit(page, live_server.url + path.format(**demo))
    assert not violations, "axe-core violations:\n" + "\n".join(violations)


def test_queue_and_incident_pass_axe_at_375_px(new_page, live_server, demo):
    phone = new_page(width=375, height=740)
    login(phone, live_server.url, LOGIN["member"], loader.PASSWORD)
    violations = []
    for path in ("/", "/home", "/incidents/{inc}"):
        url = live_server.url + path.format(**demo)
        violations += audit(phone, url)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            violations.append(f"{url}: wider than 375 px by {overflow} px")
    assert not violations, "axe-core violations at 375 px:\n" + "\n".join(violations)


def submit(page, button: str) -> None:  # type: ignore[no-untyped-def]
    """Submits a form the server answers with its errors."""
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    assert page.locator(".errorlist, [role=alert]").count() > 0, f"no error shown at {page.url}"


def test_forms_showing_errors_pass_axe(new_page, live_server, demo):
    page = new_page()
    violations = []
    page.goto(f"{live_server.url}/login/")
    submit(page, "Log in")
    violations += audit(page)
    page.get_by_label("E-mail").fill(LOGIN["stakeholder"])
    page.get_by_label("Password").fill("not the password")
    submit(page, "Log in")
    violations += audit(page)

    login(page, live_server.url, LOGIN["stakeholder"], loader.PASSWORD)
    page.goto(f"{live_server.url}/portal/report/")
    submit(page, "Send report")
    violations += audit(page)
    page.goto(f"{live_server.url}/password/")
    page.get_by_label("Old password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("different")
    submit(page, "Change password")
    violations += audit(page)
    assert not violations, "axe-core violations on forms with errors:\n" + "\n".join(violations)
