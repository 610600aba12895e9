"""The public update composer in Chromium: the previews of each channel, one click that posts,
and then the public page, /api/v2/incidents.json and the e-mail delivered to a stakeholder and
to a subscriber (a real SMTP server) carry the public text, never the internal title nor an
e-mail-only line; no page scrolls sideways at 375 px or 1280 px."""

from __future__ import annotations

import json

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents.services import incident_categorize, incident_report
from incidentdesk.statuspage import services, subscriptions
from incidentdesk.statuspage.models import Publication
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD
from tests.statuspage.conftest import run_worker, smtp  # noqa: F401  (the SMTP sink fixture)

INTERNAL = "Checkout page times out for all stores since 10:00"
PUBLIC = "Checkout is slow or timing out"
TEXT = "A payment provider is slow; we are switching to the backup provider."
# lines only an e-mail may carry
EMAIL_ONLY = ("reply to this message", "Follow it here", "unsubscribe")


def _setup():
    member = user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")
    manager = user_create(by=None, email="morgan@spacewise.test", password=PASSWORD, role="manager")
    nora = user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )
    checkout = services.component_create(by=manager, name="Checkout")
    incident = incident_report(by=nora, title=INTERNAL, description="All stores since 10:00.")
    incident_categorize(
        by=member,
        incident=incident.ref,
        type="performance",
        severity="P2",
        impact="few",
        reason="Every store is slow",
    )
    services.incident_publish(by=member, incident=incident.ref, title=PUBLIC)
    asked = subscriptions.subscribe_email(email="reader@example.org")
    subscriptions.confirm(subscriptions.confirm_token(asked.request))
    return member, nora, checkout, incident


def _patient(page):  # type: ignore[no-untyped-def]
    # several engines share a small machine: the first request of a live server can be slow
    page.set_default_timeout(60_000)
    return page


def _scroll_width(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _compose(page, base: str, incident, checkout) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/incidents/{incident.ref}/update?template=identified")
    page.get_by_label("Message").fill(TEXT)
    page.get_by_label("Public status").select_option("identified")
    page.select_option(f"#c-comp-{checkout.pk}", "degraded_performance")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state("networkidle")


def test_composer_previews_then_posts_everywhere_in_one_click(new_page, live_server, smtp):  # noqa: F811
    member, nora, checkout, incident = _setup()
    run_worker()
    base = live_server.url

    desk = _patient(new_page(width=1280, height=900))
    login(desk, base, member.email, PASSWORD)
    _compose(desk, base, incident, checkout)
    for section in ("#preview-statuspage", "#preview-stakeholder", "#preview-subscriber"):
        shown = desk.locator(section).inner_text()
        assert TEXT in shown, section
        assert INTERNAL not in shown, section
    assert "Checkout (degraded performance)" in desk.locator("#preview-statuspage").inner_text()
    assert PUBLIC in desk.locator("#preview-stakeholder").inner_text()
    for line in EMAIL_ONLY[:2]:
        assert line not in desk.locator("#preview-statuspage").inner_text()
    assert _scroll_width(desk) <= 1280
    screenshot(desk, "composer-preview")
    desk.get_by_role("button", name="Post and send").click()
    desk.wait_for_load_state("networkidle")
    assert "sent to the stakeholders and subscribers" in desk.locator("main").inner_text()
    assert TEXT in desk.locator("main").inner_text()  # shown as the public sees it
    assert incident.timeline.filter(kind="public_update").count() == 1
    run_worker()

    public = _patient(new_page(width=1280, height=900))
    public.goto(f"{base}/status/")
    publication = Publication.objects.get(incident=incident)
    public.goto(f"{base}/status/incidents/{publication.pk}/")
    page_text = public.locator("body").inner_text()
    assert PUBLIC in page_text and TEXT in page_text
    assert _scroll_width(public) <= 1280
    public.goto(f"{base}/api/v2/incidents.json")
    feed = json.loads(public.locator("body").inner_text())
    [shown] = [i for i in feed["incidents"] if i["name"] == PUBLIC]
    assert shown["incident_updates"][0]["body"] == TEXT
    mails = [smtp.to(nora.email)[-1], smtp.to("reader@example.org")[-1]]
    for mail in mails:
        assert TEXT in mail.get_body(preferencelist=("plain",)).get_content()
    for output in (page_text, json.dumps(feed), *(m.as_string() for m in mails)):
        assert INTERNAL not in output
    for output in (page_text, json.dumps(feed)):
        for line in EMAIL_ONLY:
            assert line not in output

    phone = _patient(new_page(width=375, height=800))
    login(phone, base, member.email, PASSWORD)
    _compose(phone, base, incident, checkout)
    assert phone.locator("#preview-subscriber").is_visible()
    assert _scroll_width(phone) <= 375
    phone.goto(f"{base}/status/incidents/{publication.pk}/")
    assert _scroll_width(phone) <= 375
