from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.services import incident_report

pytestmark = pytest.mark.django_db


def post(c, incident, action, **data):
    incident.refresh_from_db()
    data.setdefault("version", incident.version)
    return c.post(f"/incidents/{incident.ref}/act/{action}", data)


def test_member_walks_an_incident_through(client_for, member, manager, reported):
    c = client_for(member)
    page = c.get(f"/incidents/{reported.ref}").content.decode()
    assert "1. Assess the incident" in page and "6. Document all actions" in page
    assert "Close incident" not in page
    r = c.get(f"/incidents/{reported.ref}/triage", {"type": "security", "impact": "few"})
    assert "Policy suggests: <strong>P2</strong>" in r.content.decode()
    r = c.post(f"/incidents/{reported.ref}/triage", {"type": "security", "impact": "all"})
    assert "Policy suggests: <strong>P1</strong>" in r.content.decode()
    assert "<h1>Checkout fails with error 500</h1>" in r.content.decode()
    r = post(c, reported, "triage", type="functionality", impact="few", severity="P1")
    assert r.status_code == 200
    assert "Give a reason for overriding" in r.content.decode()
    assert Incident.objects.get(pk=reported.pk).status == "reported"
    r = post(c, reported, "triage", type="functionality", impact="few", severity="P3")
    assert r.status_code == 302
    reported.refresh_from_db()
    assert reported.status == "triaged" and reported.severity == "P3"
    task = reported.tasks.first()
    assert post(c, reported, "task", task=task.pk, state="skipped").status_code == 200
    assert post(c, reported, "task", task=task.pk, state="done").status_code == 302
    assert post(c, reported, "note", body="Looking at **logs**").status_code == 302
    page = c.get(f"/incidents/{reported.ref}").content.decode()
    assert "<strong>logs</strong>" in page
    r = post(c, reported, "resolve", summary="Rolled back")
    assert r.status_code == 200 and "guideline tasks are still open" in r.content.decode()
    assert Incident.objects.get(pk=reported.pk).status == "triaged"
    assert (
        post(c, reported, "resolve", summary="Rolled back", confirm_open_tasks="1").status_code
        == 302
    )
    assert post(c, reported, "close").status_code == 403
    m = client_for(manager)
    assert "Close incident" in m.get(f"/incidents/{reported.ref}").content.decode()
    assert post(m, reported, "close").status_code == 302
    reported.refresh_from_db()
    assert reported.status == "closed"


def test_stale_form_keeps_typed_text(client_for, member, reported):
    c = client_for(member)
    old = reported.version
    assert post(c, reported, "acknowledge").status_code == 302
    r = c.post(
        f"/incidents/{reported.ref}/act/request-info",
        {"version": old, "question": "Which browser do you use?"},
    )
    assert r.status_code == 409
    html = r.content.decode()
    assert "changed by someone else" in html
    assert "Which browser do you use?</textarea>" in html
    assert not reported.info_requests.exists()


def test_live_fragment(client_for, member, reported):
    c = client_for(member)
    reported.refresh_from_db()
    url = f"/incidents/{reported.ref}/live?v={reported.version}&since={reported.timeline_seq}"
    assert c.get(url).status_code == 204
    post(c, reported, "acknowledge")
    r = c.get(url)
    assert r.status_code == 200 and "acknowledged" in r.content.decode().lower()
    stamp = TimelineEntry.objects.order_by("-id").first().id
    assert c.get(f"/queue/live?stamp={stamp}").status_code == 204
    assert c.get("/queue/live?stamp=0").status_code == 200


def test_queue_lists_and_filters(client_for, member, reported):
    c = client_for(member)
    link = f">{reported.ref}</a>"
    html = c.get("/").content.decode()
    assert link in html and "untriaged" in html
    assert link not in c.get("/?assignee=me").content.decode()
    assert link in c.get("/?q=checkout").content.decode()
    assert link in c.get("/?q=CHECKOUT+error").content.decode()
    assert link not in c.get("/?q=checkout+timeout").content.decode()
    assert link in c.get(f"/?q={reported.ref}").content.decode()
    assert link not in c.get("/?q=nothing-like-it").content.decode()
    for sort in ("attention", "due", "newest", "oldest"):
        assert c.get(f"/?sort={sort}").status_code == 200
    assert c.get("/?after=garbage&sort=due").status_code == 200


def test_steps_panel_offers_the_next_action(client_for, member, reported):
    from incidentdesk.core import clock
    from incidentdesk.incidents.services import incident_acknowledge

    c = client_for(member)
    page = c.get(f"/incidents/{reported.ref}").content.decode()
    assert 'href="#assess">Acknowledge the incident' in page
    with clock.frozen(reported.reported_at + dt.timedelta(hours=3)):
        incident_acknowledge(by=member, incident=reported.ref)
        page = c.get(f"/incidents/{reported.ref}").content.decode()
    assert "done late" in page
    assert 'href="#triage">Categorize it' in page


def test_reject_reopen_status_and_assign(
    client_for, member, manager, member2, reported, stakeholder
):
    other = incident_report(by=stakeholder, title="Checkout broken")
    m = client_for(manager)
    r = post(m, other, "reject", reason="", duplicate_of="")
    assert r.status_code == 200 and "Reason is required" in r.content.decode()
    r = post(m, other, "reject", reason="Same problem", duplicate_of="INC-999")
    assert "No incident INC-999" in r.content.decode()
    assert "Same problem</textarea>" in r.content.decode()
    assert (
        post(m, other, "reject", reason="Same problem", duplicate_of=reported.ref).status_code
        == 302
    )
    other.refresh_from_db()
    assert other.status == "rejected" and other.duplicate_of_id == reported.pk
    page = m.get(f"/incidents/{other.ref}").content.decode()
    assert f">{reported.ref}</a>" in page and "Reason to reopen" in page
    assert post(m, other, "reopen", reason="Not the same after all").status_code == 302
    other.refresh_from_db()
    assert other.status == "reported"

    assert post(m, reported, "assign", assignee=member2.email).status_code == 302
    reported.refresh_from_db()
    assert reported.assignee == member2
    c = client_for(member)
    assert post(c, reported, "assign", self="1").status_code == 302
    reported.refresh_from_db()
    assert reported.assignee == member
    post(c, reported, "triage", type="functionality", impact="few", severity="")
    reported.refresh_from_db()
    assert reported.severity == "P3"  # no severity chosen: the suggestion
    assert post(c, reported, "status", status="identified").status_code == 302
    r = post(c, reported, "status", status="closed")
    assert "Use the close action" in r.content.decode()
    reported.refresh_from_db()
    assert reported.status == "identified"
    page = c.get(f"/incidents/{reported.ref}?kind=status_changed").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "Status triaged → identified" in timeline and "Categorized as" not in timeline


def test_poll_after_the_session_ended_sends_the_page_to_login(client_for, reported):
    r = client_for(None).get(
        f"/incidents/{reported.ref}/live?v=1",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver/incidents/{reported.ref}",
        },
    )
    assert r.status_code == 204
    assert r["HX-Redirect"] == f"/login/?next=%2Fincidents%2F{reported.ref}"
