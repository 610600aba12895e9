"""The review page, action items, insights and the report download, as each role sees them."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from incidentdesk.cli import usage
from incidentdesk.comms.models import Delivery
from incidentdesk.core import clock
from incidentdesk.incidents.models import Incident
from incidentdesk.reviews import services as rs
from incidentdesk.reviews.models import ActionItem, Review

from .helpers import at, worked_incident

TEXT = {
    "summary": "Card payments failed.",
    "trigger": "An expired certificate.",
    "lessons": "Watch expiry.",
}


@pytest.fixture
def p1(member):
    return worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )


def test_member_writes_and_publishes_a_review_on_the_page(client, p1, member):
    client.force_login(member)
    r = client.get(f"/incidents/{p1.ref}/review")
    assert r.status_code == 200
    assert b"Start the review" in r.content and b"due 13 Mar 2026" in r.content

    client.post(f"/incidents/{p1.ref}/review/start")
    r = client.get(f"/incidents/{p1.ref}/review")
    assert b"Duration (reported to resolved): 2h" in r.content

    form = {**TEXT, "pick": ["1", "5"], "note_1": "Northwind called first", "then": "publish"}
    form["went_wrong"] = "Human error: nobody watched the certificate."
    r = client.post(f"/incidents/{p1.ref}/review/save", form, follow=True)
    assert b"Review published." in r.content
    assert b"Blameless language" in r.content and b"Human error" in r.content
    assert b"Northwind called first" in r.content
    review = Review.objects.get(incident=p1)
    assert review.state == "published"
    assert review.picks == [{"seq": 1, "note": "Northwind called first"}, {"seq": 5, "note": ""}]

    r = client.post(
        f"/incidents/{p1.ref}/action-items",
        {"title": "Alert on certificate expiry", "kind": "detect", "owner": member.email,
         "due_date": "2030-01-31"},
        follow=True,
    )  # fmt: skip
    assert b"Action item added." in r.content
    assert b"Alert on certificate expiry" in r.content


def test_markdown_in_a_review_is_sanitized(client, p1, member):
    rs.review_start(by=member, incident=p1.ref)
    rs.review_save(
        by=member,
        incident=p1.ref,
        sections={**TEXT, "lessons": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"},
    )
    rs.review_publish(by=member, incident=p1.ref)
    client.force_login(member)
    body = client.get(f"/incidents/{p1.ref}/review").content.decode()
    assert "<strong>Bold</strong>" in body
    assert "<script>alert(1)</script>" not in body
    assert 'href="javascript:' not in body


def test_stakeholders_never_see_reviews_insights_or_exports(client, p1, member, stakeholder):
    rs.review_start(by=member, incident=p1.ref)
    client.force_login(stakeholder)
    for url in (
        f"/incidents/{p1.ref}/review",
        f"/incidents/{p1.ref}/export.md",
        f"/incidents/{p1.ref}/export.json",
        "/insights/",
        "/insights/metrics.csv",
        "/actions/",
    ):
        r = client.get(url)
        assert r.status_code == 403, url
        assert "This page is for the Incident Management Team." in r.content.decode()
        assert b"Card payments" not in r.content
    r = client.post(f"/incidents/{p1.ref}/review/save", TEXT)
    assert r.status_code == 403
    assert Review.objects.get(incident=p1).sections["trigger"] == ""
    item = rs.action_item_create(
        by=member, incident=p1.ref, title="Alert", kind="detect", owner=member.email,
        due_date=dt.date(2030, 1, 1),
    )  # fmt: skip
    for url, data in (
        (f"/incidents/{p1.ref}/review/comment", {"body": "hello"}),
        (f"/incidents/{p1.ref}/review/start", {}),
        (f"/incidents/{p1.ref}/review/waive", {"reason": "x"}),
        (f"/incidents/{p1.ref}/action-items", {"title": "x", "kind": "detect"}),
        (f"/actions/{item.pk}/status", {"status": "done"}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert client.get(f"/incidents/{p1.ref}/review/revisions/1").status_code == 403
    assert not Review.objects.get(incident=p1).comments.exists()
    assert ActionItem.objects.get().status == "open"


def test_members_may_not_waive_or_see_insights(client, p1, member):
    client.force_login(member)
    r = client.post(f"/incidents/{p1.ref}/review/waive", {"reason": "no time"})
    assert r.status_code == 403
    assert not Review.objects.filter(incident=p1).exists()
    assert client.get("/insights/").status_code == 403
    assert client.get("/insights/metrics.csv").status_code == 403
    assert client.get("/insights/metrics.json").status_code == 403
    assert b"Waive the review" not in client.get(f"/incidents/{p1.ref}/review").content


def test_anonymous_visitors_are_sent_to_log_in(client, p1):
    r = client.get(f"/incidents/{p1.ref}/review")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert client.get("/insights/").status_code == 302


def test_manager_waives_on_the_page(client, p1, manager):
    client.force_login(manager)
    r = client.post(
        f"/incidents/{p1.ref}/review/waive", {"reason": "Covered by INC-1's review"}, follow=True
    )
    assert b"waived" in r.content
    assert Incident.objects.get(pk=p1.pk).timeline.filter(kind="review_waived").exists()


def test_insights_page_shows_charts_and_tables(client, p1, manager):
    client.force_login(manager)
    with clock.frozen(at(2026, 3, 20, 12)):
        r = client.get("/insights/?from=2026-03-01&to=2026-03-31")
    body = r.content.decode()
    assert r.status_code == 200
    assert "<svg" in body and "Time to resolve" in body
    assert "(reported to resolved)" in body
    assert "acknowledged within 15m for P1: 1 of 1" in body

    r = client.get("/insights/?from=2026-04-01&to=2026-03-01")
    assert r.status_code == 422
    assert b"The start of the range is after its end." in r.content


def test_metrics_export_as_csv_and_json(client, p1, manager):
    client.force_login(manager)
    r = client.get("/insights/metrics.csv?from=2026-03-01&to=2026-03-31")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    lines = r.content.decode().splitlines()
    assert lines[0] == "figure,group,key,measure,value,spans"
    assert "resolve,overall,all,median_seconds,7200.0,reported to resolved" in lines
    r = client.get("/insights/metrics.json?from=2026-03-01&to=2026-03-31")
    assert json.loads(r.content)["incidents"] == 1


def test_action_items_list_filters_and_updates(client, p1, member, member2):
    with clock.frozen(at(2026, 3, 9, 9)):
        mine = rs.action_item_create(
            by=member, incident=p1.ref, title="Alert on expiry", kind="detect",
            owner=member.email, due_date=dt.date(2026, 3, 10),
        )  # fmt: skip
        rs.action_item_create(
            by=member, incident=p1.ref, title="Rotate certificates", kind="prevent",
            owner=member2.email, due_date=dt.date(2026, 4, 10),
        )  # fmt: skip
    client.force_login(member)
    with clock.frozen(at(2026, 3, 12, 9)):
        body = client.get("/actions/?status=overdue").content.decode()
        assert "Alert on expiry" in body and "Rotate certificates" not in body
        body = client.get("/actions/?kind=prevent").content.decode()
        assert "Rotate certificates" in body and "Alert on expiry" not in body
        body = client.get("/actions/?owner=me").content.decode()
        assert "Alert on expiry" in body and "Rotate certificates" not in body
        r = client.post(
            f"/actions/{mine.pk}/status", {"status": "done", "next": "/actions/"}, follow=True
        )
    assert "is now done" in r.content.decode()
    assert ActionItem.objects.get(pk=mine.pk).status == "done"


def test_report_download_has_every_timeline_entry_and_the_review(client, p1, member):
    rs.review_start(by=member, incident=p1.ref)
    rs.review_save(by=member, incident=p1.ref, sections=TEXT)
    client.force_login(member)
    r = client.get(f"/incidents/{p1.ref}/export.md")
    assert r["Content-Disposition"] == f'attachment; filename="{p1.ref}.md"'
    text = r.content.decode()
    assert text.startswith(f"# {p1.ref}: Checkout fails")
    count = Incident.objects.get(pk=p1.pk).timeline.count()
    assert f"| {count} |" in text
    assert "### Trigger and contributing factors" in text
    data = json.loads(client.get(f"/incidents/{p1.ref}/export.json").content)
    assert [e["seq"] for e in data["timeline"]] == list(range(1, count + 1))
    assert data["review"]["sections"]["trigger"] == "An expired certificate."
    assert len(data["deliveries"]) == Delivery.objects.filter(incident=p1).count()
    assert data["tasks"][0]["title"] == "Reproduce the problem"


def test_export_command(p1):
    out = io.StringIO()
    call_command("export", p1.ref, "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["ref"] == p1.ref
    out = io.StringIO()
    call_command("export", p1.ref, stdout=out)
    assert out.getvalue().startswith(f"# {p1.ref}: ")
    with pytest.raises(CommandError, match="No incident INC-999999"):
        call_command("export", "INC-999999")
    assert "export INC-n [--format md|json]" in usage()
