"""The whole policy flow, walked in Chromium by each role, at a desk's width and a phone's.

A stakeholder reports in the portal; a member assesses, categorizes, communicates, publishes on
the status page, follows the checklist and resolves; the manager starts the day on the home
page, reviews and closes; anyone reads the status page. On every page the walk asserts:

- no raw code in the visible text: every code of the registry (timeline kinds, statuses,
  audiences, triggers, recipients, component statuses) that is not itself a word, that is one
  written with "_", in the forms a page could leak it ("info_requested", "inforequested", and
  "Sla due soon" where the label writes "SLA due soon");
- no sideways scroll (the page is no wider than the window);
- no request to any host but the product's;
- no console error and no failed request (the `new_page` fixture);
and on the public outputs, the updates newest first.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from incidentdesk.accounts.services import user_create
from incidentdesk.comms.services import channel_create
from incidentdesk.incidents.kinds import KIND_LABELS, RECIPIENT_LABELS, Audience
from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS
from incidentdesk.statuspage import cache, subscriptions
from incidentdesk.statuspage.models import ComponentStatus
from tests.browser.conftest import login, screenshot
from tests.browser.public_outputs import PublicOutputs
from tests.comms.conftest import http_receiver, smtp  # noqa: F401  (real SMTP and HTTP)
from tests.conftest import PASSWORD

PUBLIC = "Checkout is slow or timing out"
INTERNAL = "Checkout page times out for all stores"
NOTE = "Checkout pods restart under load; scaling up."
SUBSCRIBER = "reader@example.org"

CODES = (
    set(KIND_LABELS)
    | {s.value for s in Status}
    | {a.value for a in Audience}
    | set(NOTIFICATION_TRIGGERS)
    | set(RECIPIENT_LABELS)
    | set(ComponentStatus.values)
)


def _raw_forms() -> set[str]:
    labels = {**KIND_LABELS, **RECIPIENT_LABELS, **dict(ComponentStatus.choices)}
    forms = set()
    for code in CODES:
        if "_" not in code:
            continue  # a one-word code is a word: its label is that word
        forms |= {code, code.replace("_", "")}
        # the code merely capitalized where its label writes it otherwise ("Sla due soon")
        fallback = code.replace("_", " ").capitalize()
        label = labels.get(code, "")
        if label.lower() == fallback.lower() and label != fallback:
            forms.add(fallback)
    return forms


RAW = sorted(_raw_forms())
RAW_PATTERN = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, RAW)) + r")(?![\w-])")


class Walker:
    """One person's browser at one width, checking every page it lands on."""

    def __init__(self, new_page, base: str, width: int, name: str) -> None:
        self.base, self.width, self.name = base, width, name
        self.page = new_page(width=width, height=800, csp=True)
        self.hosts: set[str] = set()
        self.page.on("request", self._request)
        self.checked: list[str] = []

    def _request(self, request) -> None:  # type: ignore[no-untyped-def]
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss"):
            self.hosts.add(url.netloc)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        self.check()

    def check(self) -> None:
        page = self.page
        where = f"{self.name} at {self.width} px on {page.url}"
        text = page.locator("body").inner_text()
        leaked = sorted(set(RAW_PATTERN.findall(text)))
        assert not leaked, f"raw codes {leaked} shown to {where}"
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert wide[0] <= wide[1], f"sideways scroll ({wide[0]} > {wide[1]} px) for {where}"
        own = urlparse(self.base).netloc
        assert self.hosts <= {own}, f"requests to {self.hosts - {own}} from {where}"
        self.checked.append(urlparse(page.url).path)

    def click(self, role: str, name: str, **kw) -> None:  # type: ignore[no-untyped-def]
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, **kw).click()  # type: ignore[arg-type]
        self.page.wait_for_load_state("networkidle")
        self.check()


def _times(page, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(selector).evaluate_all("els => els.map(e => e.getAttribute('datetime'))")


def _send_update(member: Walker, ref: str, status: str, body: str) -> None:
    """The public update composer: write once, preview each channel, post and send."""
    member.go(f"/incidents/{ref}/update")
    member.page.get_by_label("Public status").select_option(label=status)
    member.page.get_by_label("Message").fill(body)
    member.click("button", "Preview")
    member.click("button", "Post and send")


def _outside_readers(http_receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A status page subscriber by mail, and a webhook channel for the stakeholders."""
    asked = subscriptions.subscribe_email(email=SUBSCRIBER)
    subscriptions.confirm(subscriptions.confirm_token(asked.request))
    admin = user_create(by=None, email="ada@spacewise.test", password=PASSWORD, role="admin")
    url, _ = http_receiver
    channel_create(
        by=admin,
        name="Customers' chat",
        kind="webhook",
        url=url + "/hook",
        audiences=["stakeholders"],
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_walk_the_policy_flow_by_every_role(new_page, live_server, smtp, http_receiver, width):  # noqa: F811
    cache.clear()
    _outside_readers(http_receiver)
    member_user = user_create(
        by=None, email="alex@spacewise.test", password=PASSWORD, role="member", first_name="Alex"
    )
    manager_user = user_create(
        by=None,
        email="morgan@spacewise.test",
        password=PASSWORD,
        role="manager",
        first_name="Morgan",
    )
    nora = user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
        first_name="Nora",
    )
    base = live_server.url
    # the pictures for the docs (both widths each) come from the desk's walk
    shoot = screenshot if width == 1280 else (lambda page, name: None)

    # the stakeholder reports in the portal
    reporter = Walker(new_page, base, width, "the stakeholder")
    login(reporter.page, base, nora.email, PASSWORD)
    reporter.check()
    reporter.go("/portal/report/")
    reporter.page.get_by_label("What is wrong?").fill(INTERNAL)
    reporter.click("button", "Send report")
    expect(reporter.page.get_by_text("Your report is")).to_be_visible()
    incident = Incident.objects.get()
    ref = incident.ref
    reporter.go("/portal/")

    # the member assesses, categorizes, communicates, follows the checklist and resolves
    member = Walker(new_page, base, width, "the member")
    login(member.page, base, member_user.email, PASSWORD)
    member.check()
    member.go("/home")
    member.go(f"/incidents/{ref}")
    shoot(member.page, "incident-reported")
    member.click("button", "Acknowledge")
    member.page.get_by_label("Type").select_option(label="Functionality")
    expect(member.page.locator("#triage-suggestion")).to_contain_text("Policy suggests")
    member.click("button", "Categorize")
    member.go(f"/incidents/{ref}#discussion")
    member.page.get_by_label("Note", exact=True).fill(NOTE)
    member.click("button", "Add note")
    member.go(f"/status/manage/incidents/{ref}")
    withdraw = member.page.get_by_role("button", name="Withdraw from the status page")
    if withdraw.count():
        # the communication plan put it on the page at once under the team's own title:
        # the member gives it a public one
        member.click("button", "Withdraw from the status page")
    member.page.get_by_label("Public title").fill(PUBLIC)
    member.click("button", "Publish on the status page")
    # after each post, a visitor reads every public output, and the outside readers theirs
    visitor = Walker(new_page, base, width, "a visitor")
    outputs = PublicOutputs(
        visitor, smtp, SUBSCRIBER, http_receiver[1], secrets=(INTERNAL, NOTE.split(";")[0])
    )
    for status, body in (
        ("Investigating", "We are looking into slow checkouts."),
        ("Identified", "We found the cause and are fixing it."),
    ):
        _send_update(member, ref, status, body)
        outputs.after_post(PUBLIC, body)
    member.go("/home")
    shoot(member.page, "home-member")
    member.go(f"/incidents/{ref}#checklist")
    done = member.page.get_by_role("button", name=re.compile("^Mark “"))
    while done.count():
        member.click("button", done.first.get_attribute("aria-label") or "", exact=True)
        member.page.goto(f"{base}/incidents/{ref}#checklist")
        member.page.wait_for_load_state("networkidle")
    member.go(f"/incidents/{ref}#resolve")
    member.page.get_by_label("Resolution summary").fill("Scaled the checkout service.")
    member.click("button", "Resolve")
    expect(member.page.get_by_text("Status: resolved")).to_be_visible()
    _send_update(member, ref, "Resolved", "Checkouts are fast again.")
    outputs.after_post(PUBLIC, "Checkouts are fast again.", resolved=True)
    assert len(outputs.read) == 3
    member.go("/home")

    # the manager starts the day on the home page, reviews and closes
    manager = Walker(new_page, base, width, "the manager")
    login(manager.page, base, manager_user.email, PASSWORD)
    manager.check()
    manager.go("/home")
    shoot(manager.page, "home-manager")
    manager.go("/")
    manager.go(f"/incidents/{ref}")
    if not manager.page.get_by_role("button", name="Close incident").count():
        expect(manager.page.locator("#reviews-due, #close")).to_contain_text("review")
        manager.go(f"/incidents/{ref}/review")
        manager.click("button", "Start the review")
        manager.page.get_by_label("Summary", exact=True).fill("Checkout ran out of capacity.")
        manager.click("button", "Save and publish")
        # trigger and lessons are required: the refusal names them by their headings
        refusal = manager.page.get_by_role("status").inner_text()
        assert "Trigger and contributing factors: Required to publish." in refusal
        assert "Lessons: Required to publish." in refusal
        expect(manager.page.get_by_label("Summary", exact=True)).to_have_value(
            "Checkout ran out of capacity."
        )
        manager.page.get_by_label("Trigger and contributing factors").fill("A traffic peak.")
        manager.page.get_by_label("Lessons").fill("Scale checkout ahead of peaks.")
        manager.click("button", "Save and publish")
        manager.go(f"/incidents/{ref}#close")
    manager.click("button", "Close incident")
    expect(manager.page.get_by_text("Status: closed")).to_be_visible()
    shoot(manager.page, "incident-closed")

    # anyone reads the status page: only the public wording, updates newest first
    cache.clear()
    public = Walker(new_page, base, width, "a visitor")
    public.go("/status/")
    public.go("/status/history/")
    public.page.get_by_role("link", name=PUBLIC).first.click()
    public.page.wait_for_load_state("networkidle")
    public.check()
    shoot(public.page, "statuspage-incident")
    posted = _times(public.page, ".sp-posts time")
    assert len(posted) >= 3 and posted == sorted(posted, reverse=True), posted
    assert INTERNAL not in public.page.locator("main").inner_text()
    relative = public.page.locator(".sp-posts .relative").first
    expect(relative).to_have_text(re.compile(r"^\((just now|\d+ min ago)\)$"))
    feed = json.loads(public.page.request.get(f"{base}/api/v2/incidents.json").text())
    updates = [u["created_at"] for u in feed["incidents"][0]["incident_updates"]]
    assert updates == sorted(updates, reverse=True), updates

    # and the stakeholder follows the incident to its end in the portal
    reporter.go(f"/portal/{ref}/")
    assert {"/portal/", f"/portal/{ref}/"} <= set(reporter.checked)
    assert len(member.checked) >= 12 and len(manager.checked) >= 4
