"""On duty in a real browser: the acknowledge link from a page on a phone (asks first, then
acknowledges without a login), the incident's timeline of the escalation and the On call
page's escalation levels on a desk. Screenshots for docs/oncall.md."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings

from incidentdesk.core import clock
from incidentdesk.incidents.models import Incident
from incidentdesk.ingest import services
from incidentdesk.ingest.services import escalation
from tests.browser.conftest import login, screenshot
from tests.comms.conftest import deliver_due, smtp  # noqa: F401
from tests.conftest import PASSWORD


def _overflow(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def test_a_page_is_acknowledged_from_a_phone_and_the_timeline_shows_each_step(
    new_page,
    live_server,
    smtp,  # noqa: F811
    manager,
    member,
):
    member.first_name, member.last_name = "Alex", "Kim"
    member.save()
    primary = services.schedule_create(by=manager, name="Primary", time_zone="UTC")
    services.schedule_add_layer(
        by=manager,
        schedule=primary,
        name="All day",
        rotation="daily",
        handoff_time=dt.time(0, 0),
        starts_on=clock.now().date() - dt.timedelta(days=1),
        members=[member.email],
    )
    _, prometheus = services.integration_create(by=manager, name="Prometheus")
    outcome = services.alert_receive(
        integration=prometheus,
        event=services.AlertEvent(
            action="trigger",
            dedup_key="disk-db-1",
            summary="Disk full on db-1",
            severity="critical",
        ),
    )
    assert outcome.alert is not None
    incident = Incident.objects.get(pk=outcome.alert.incident_id)
    escalation.escalation_check()
    deliver_due()
    (page_mail,) = smtp.to(member.email)
    text = page_mail.get_body(preferencelist=("plain",)).get_content()
    (link,) = re.findall(r"\((https?://[^)]+/oncall/ack/[^)]+)\)", text)

    phone = new_page(width=375, height=740)
    phone.goto(live_server.url + link.removeprefix(settings.BASE_URL))
    assert phone.get_by_role("heading", name="Acknowledge").is_visible()
    assert "as Alex Kim?" in phone.locator("main").inner_text()
    assert _overflow(phone) <= 0
    screenshot(phone, "oncall-acknowledge")
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is None
    phone.get_by_role("button", name=f"Acknowledge {incident.ref}").click()
    phone.wait_for_load_state("networkidle")
    assert phone.get_by_role("status").inner_text() == (
        f"{incident.ref} is acknowledged by Alex Kim. Escalation has stopped."
    )
    assert _overflow(phone) <= 0
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is not None

    desk = new_page(width=1280, height=900)
    login(desk, live_server.url, member.email, PASSWORD)
    desk.goto(f"{live_server.url}/incidents/{incident.ref}")
    desk.wait_for_load_state("networkidle")
    body = desk.content()
    assert "Paged Alex Kim (level 1)" in body
    screenshot(desk, "oncall-incident-timeline")
    # the page's delivery is a system entry: summarised, and listed with every entry
    desk.goto(f"{live_server.url}/incidents/{incident.ref}?kind=all")
    desk.wait_for_load_state("networkidle")
    assert "Paged by email to On call alex@spacewise.test" in desk.content()

    desk.goto(f"{live_server.url}/oncall/")
    desk.wait_for_load_state("networkidle")
    assert desk.get_by_role("heading", name="Page now").is_visible()
    assert "now Alex Kim" in desk.locator("main").inner_text()
    screenshot(desk, "oncall-page")


def test_a_manager_creates_an_integration_and_copies_its_addresses(new_page, live_server, manager):
    for width in (375, 1280):
        page = new_page(width=width, height=900)
        login(page, live_server.url, manager.email, PASSWORD)
        page.goto(f"{live_server.url}/oncall/integrations/")
        page.get_by_label("Name").fill(f"Prometheus {width}")
        page.get_by_role("button", name="Create integration").click()
        page.wait_for_load_state("networkidle")
        notice = page.get_by_role("status").inner_text()
        assert f"Prometheus {width} is created." in notice
        assert "/alertmanager" in notice and "/v2/enqueue" in notice
        assert _overflow(page) <= 0
        if width == 1280:
            screenshot(page, "oncall-integration-created")  # both widths, as every picture
