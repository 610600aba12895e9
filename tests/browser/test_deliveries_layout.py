"""The deliveries table is a table on a desk and cards on a phone, with no empty rows."""

from __future__ import annotations

from incidentdesk.accounts.services import user_create
from incidentdesk.incidents.services import incident_report
from tests.browser.conftest import login
from tests.conftest import PASSWORD


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
    # reporting tells the manager and the team: deliveries to show
    incident = incident_report(by=nora, title="Search is very slow")
    return member, manager, incident


def _layout(page):  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
          const table = document.querySelector('table.deliveries');
          const head = table.querySelector('thead');
          const cells = [...table.querySelectorAll('tbody td')].filter(
            td => getComputedStyle(td).display !== 'none');
          return {
            table: getComputedStyle(table).display,
            headHeight: head.getBoundingClientRect().height,
            cell: getComputedStyle(table.querySelector('tbody td')).display,
            shown: cells.map(td => td.innerText.trim()),
            scroll: document.documentElement.scrollWidth,
          };
        }"""
    )


def test_deliveries_are_a_table_at_desk_width_and_cards_on_a_phone(new_page, live_server):
    _member, manager, incident = _setup()
    desk = new_page(width=1280, height=800)
    login(desk, live_server.url, manager.email, PASSWORD)
    for url in (f"/incidents/{incident.ref}/communications", "/comms/deliveries/"):
        desk.goto(live_server.url + url)
        layout = _layout(desk)
        assert layout["table"] == "table", url
        assert layout["cell"] == "table-cell", url
        assert layout["headHeight"] > 10, url

    phone = new_page(width=375, height=800)
    login(phone, live_server.url, manager.email, PASSWORD)
    phone.goto(f"{live_server.url}/incidents/{incident.ref}/communications")
    layout = _layout(phone)
    assert layout["cell"] == "block"
    assert layout["scroll"] <= 375
    # no card row that says nothing: no bare "Error:" and no lone ":"
    for text in layout["shown"]:
        assert text not in ("", ":"), layout["shown"]
