"""Every page a person reads speaks in words: no timeline kind, trigger, status or audience
code, one date and time format with the time zone, names rather than e-mail addresses."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from incidentdesk.accounts.models import User
from incidentdesk.demo.loader import load
from incidentdesk.incidents import services as s
from incidentdesk.incidents.kinds import KINDS
from incidentdesk.incidents.models import Incident, PublicStatus
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS
from incidentdesk.reviews.models import Review
from incidentdesk.statuspage.models import Component
from incidentdesk.statuspage.services import incident_link_component


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    parser = _Text()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


# the registry's codes as they leaked: as written, and with the underscores cut out
RAW_CODES = sorted(
    {code for code in KINDS if "_" in code}
    | {code.replace("_", "") for code in KINDS if "_" in code}
    | {code for code in NOTIFICATION_TRIGGERS if "_" in code}
)


def raw_codes_in(text: str) -> list[str]:
    found = [code for code in RAW_CODES if re.search(rf"\b{code}\b", text)]
    found += re.findall(r"\bSla\b", text)
    # "review: 11": an entry's data keys shown instead of words
    found += re.findall(r"\b(?:review|sections|previous|revision): \d+", text)
    return found


@pytest.fixture
def worked(db):  # type: ignore[no-untyped-def]
    """The demo's incidents, and one walked through every step with a component and a review."""
    load()
    alex = User.objects.get(email="alex@spacewise.example")
    incident = Incident.objects.get(title="Point-of-sale sync failing in all stores")
    s.incident_set_status(by=alex, incident=incident, status="identified")
    component = Component.objects.order_by("pk").first()
    assert component is not None
    incident_link_component(
        by=alex, incident=incident, component=component, status="degraded_performance"
    )
    return incident


def test_the_registry_codes_are_what_the_check_looks_for():
    assert "review_edited" in RAW_CODES and "inforequested" in RAW_CODES
    assert "publicupdate" in RAW_CODES and "statuspage_component_linked" in RAW_CODES
    assert raw_codes_in("Stakeholder update · Sla due soon · review: 11") == [
        "Sla",
        "review: 11",
    ]


def test_team_pages_show_no_raw_code(client, worked):
    manager = User.objects.get(email="manager@spacewise.example")
    client.force_login(manager)
    reviewed = Review.objects.filter(state="published").first()
    assert reviewed is not None
    pages = [
        "/",
        f"/incidents/{worked.ref}",
        f"/incidents/{worked.ref}/communications",
        f"/incidents/{worked.ref}/update",
        "/comms/deliveries/",
        "/comms/preferences/",
        f"/incidents/{reviewed.incident.ref}/review",
        f"/incidents/{reviewed.incident.ref}",
        "/insights/",
        "/actions/",
    ]
    for url in pages:
        text = page_text(client.get(url))
        assert raw_codes_in(text) == [], url
        # names where a name exists (a delivery shows the address it went to)
        if "deliveries" in url or "communications" in url:
            continue
        assert "alex@spacewise.example" not in text, url
        assert "manager@spacewise.example" not in text, url
    preview = client.post(
        f"/incidents/{worked.ref}/update",
        {"action": "preview", "status": "investigating", "body": "We are looking into it."},
    )
    text = page_text(preview)
    assert "E-mail to the stakeholders" in text
    assert raw_codes_in(text) == []


def test_portal_shows_no_raw_code(client, worked):
    northwind = User.objects.get(email="ops@northwind.example")
    client.force_login(northwind)
    for url in ("/portal/", f"/portal/{worked.ref}/"):
        assert raw_codes_in(page_text(client.get(url))) == [], url


def test_incident_page_writes_moments_one_way_with_the_time_zone(client, worked):
    client.force_login(User.objects.get(email="manager@spacewise.example"))
    html = client.get(f"/incidents/{worked.ref}").content.decode()
    text = page_text(client.get(f"/incidents/{worked.ref}"))
    # no ISO-like 2026-12-03 10:37 anywhere in what is read; every moment ends with its zone
    assert not re.search(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", html)
    assert shown
    for moment in shown:
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC", moment), moment


def test_status_choice_follows_the_lifecycle_with_the_current_status_chosen(client, worked):
    client.force_login(User.objects.get(email="alex@spacewise.example"))
    html = client.get(f"/incidents/{worked.ref}").content.decode()
    select = re.search(r'<select id="status" name="status">(.*?)</select>', html, re.S)
    assert select is not None
    options = re.findall(r'<option value="(\w+)"( selected)?>([^<]+)</option>', select.group(1))
    assert [value for value, _, _ in options] == ["investigating", "identified", "monitoring"]
    assert [value for value, chosen, _ in options if chosen] == ["identified"]


def test_suggested_impact_is_named_as_the_impact_choice(client, worked):
    client.force_login(User.objects.get(email="alex@spacewise.example"))
    fresh = Incident.objects.get(title="Checkout returns an error for some carts")
    text = page_text(client.get(f"/incidents/{fresh.ref}"))
    assert "suggest impact “1 to 2 stakeholders”" in text
    assert "impact “few”" not in text


def test_public_statuses_have_words(client, worked):
    client.force_login(User.objects.get(email="alex@spacewise.example"))
    text = page_text(client.get(f"/incidents/{worked.ref}/update"))
    for status in PublicStatus.values:
        assert status.capitalize() in text
