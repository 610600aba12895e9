from __future__ import annotations

from incidentdesk.demo import loader
from incidentdesk.incidents.models import Incident
from incidentdesk.portal.demo import DEMO_TITLE, load_portal_demo
from incidentdesk.portal.models import Attachment, Follow, HeldMail


def test_demo_stakeholder_reports_and_the_team_sees_it(client, db):
    loader.load()
    load_portal_demo()  # again: nothing doubles
    assert Incident.objects.filter(title=DEMO_TITLE).count() == 1
    assert Attachment.objects.filter(incident__title=DEMO_TITLE).count() == 1
    assert Follow.objects.filter(user__email="ops@northwind.example").exists()

    assert client.login(email="ops@northwind.example", password=loader.PASSWORD)
    response = client.post("/portal/report/", {"title": "Gift cards cannot be topped up"})
    assert response.status_code == 302
    page = client.get("/portal/").content.decode()
    assert "Gift cards cannot be topped up" in page and DEMO_TITLE in page
    client.logout()

    assert client.login(email="alex@spacewise.example", password=loader.PASSWORD)
    assert "Gift cards cannot be topped up" in client.get("/").content.decode()


def test_demo_holds_a_forged_mail_for_the_team(client, db):
    loader.load()
    load_portal_demo()  # again: nothing doubles
    assert HeldMail.objects.count() == 1
    assert client.login(email="alex@spacewise.example", password=loader.PASSWORD)
    page = client.get("/mail/held").content.decode()
    assert "Urgent: payment provider&#x27;s new bank details" in page
    assert "billing@pay-northwind.example" in page
