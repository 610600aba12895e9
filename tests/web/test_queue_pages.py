from __future__ import annotations

import re

import pytest

from incidentdesk.incidents import views
from incidentdesk.incidents.roles import incident_assign
from incidentdesk.incidents.services import (
    incident_categorize,
    incident_report,
)

pytestmark = pytest.mark.django_db


def _refs(html: str) -> list[str]:
    return re.findall(r'<td data-label="Ref" class="nowrap"><a href="[^"]+">(INC-\d+)</a>', html)


@pytest.mark.parametrize("sort", sorted(views.SORTS))
def test_keyset_pages_visit_every_open_incident_once_in_order(
    client_for, monkeypatch, member, manager, stakeholder, other_stakeholder, sort
):
    refs = []
    categories = [("security", "P1"), ("performance", "P2"), None, ("performance", "P3")]
    categories += [None, None] + [("functionality", "P3")] * 3
    for n, category in enumerate(categories):
        type_key, severity = category or (None, None)
        incident = incident_report(by=stakeholder, title=f"Problem {n}")
        if n % 2:
            incident_assign(by=manager, incident=incident.ref, assignee=member.email)
        if isinstance(type_key, str):
            incident_categorize(
                by=manager,
                incident=incident.ref,
                type=type_key,
                severity=severity,
                impact="few",
                reason="test",
            )
        refs.append(incident.ref)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    c = client_for(member)
    url = f"/?sort={sort}"
    seen: list[str] = []
    for _ in range(10):
        html = c.get(url).content.decode()
        seen += _refs(html)
        nxt = re.search(r'<a href="\?([^"]+)" rel="next">', html)
        if not nxt:
            break
        url = "/?" + nxt.group(1).replace("&amp;", "&")
    assert sorted(seen) == sorted(refs)
    monkeypatch.setattr(views, "PAGE_SIZE", 100)
    assert _refs(c.get(f"/?sort={sort}").content.decode()) == seen
