"""Reviews, waivers, revisions, action items, reminders and conformance, through the services."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, InvalidInput, PermissionDenied
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.steps import policy_steps, step_facts
from incidentdesk.reviews import services as rs
from incidentdesk.reviews.blameless import check
from incidentdesk.reviews.conformance import aggregate, incident_conformance
from incidentdesk.reviews.models import ActionItem, Review, ReviewRevision
from incidentdesk.reviews.selectors import add_business_days, review_requirement

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


def kinds(incident):
    return list(Incident.objects.get(pk=incident.pk).timeline.values_list("kind", flat=True))


def test_close_is_refused_until_the_review_is_published(p1, member, manager):
    with clock.frozen(at(2026, 3, 6, 14)):
        with pytest.raises(Conflict, match="post-incident review must be published"):
            s.incident_close(by=manager, incident=p1.ref)
        assert Incident.objects.get(pk=p1.pk).status == "resolved"
        rs.review_start(by=member, incident=p1.ref)
        rs.review_save(by=member, incident=p1.ref, sections=TEXT)
        with pytest.raises(Conflict):
            s.incident_close(by=manager, incident=p1.ref)
        rs.review_submit(by=member, incident=p1.ref)
        rs.review_publish(by=member, incident=p1.ref)
        s.incident_close(by=manager, incident=p1.ref)
    assert Incident.objects.get(pk=p1.pk).status == "closed"
    assert kinds(p1)[-5:] == [
        "review_started", "review_edited", "review_submitted", "review_published", "closed",
    ]  # fmt: skip
    document = policy_steps(Incident.objects.get(pk=p1.pk))[5]
    assert document.state == "done"


def test_review_is_due_five_business_days_after_resolution(p1):
    # resolved on Friday 6 March 2026: five business days later is Friday 13 March
    need = review_requirement(p1)
    assert need.required and need.due == dt.date(2026, 3, 13) and not need.satisfied
    assert add_business_days(dt.date(2026, 3, 7), 1) == dt.date(2026, 3, 9)


def test_a_manager_waives_the_review_with_a_reason_and_then_closes(p1, member, manager):
    with clock.frozen(at(2026, 3, 6, 14)):
        with pytest.raises(PermissionDenied):
            rs.review_waive(by=member, incident=p1.ref, reason="Not worth it")
        assert not Review.objects.exists()
        with pytest.raises(InvalidInput):
            rs.review_waive(by=manager, incident=p1.ref, reason="  ")
        rs.review_waive(by=manager, incident=p1.ref, reason="Duplicate of last week's review.")
        s.incident_close(by=manager, incident=p1.ref)
    entry = Incident.objects.get(pk=p1.pk).timeline.get(kind="review_waived")
    assert entry.data["reason"] == "Duplicate of last week's review."
    assert entry.actor_label == manager.email


def test_p3_closes_without_a_review(member, manager):
    p3 = worked_incident(
        member, reported=at(2026, 3, 6, 10), severity="P3", impact="few", resolve=60
    )
    with clock.frozen(at(2026, 3, 6, 12)):
        s.incident_close(by=manager, incident=p3.ref)
    assert Incident.objects.get(pk=p3.pk).status == "closed"


def test_editing_a_published_review_keeps_every_revision(p1, member):
    with clock.frozen(at(2026, 3, 7, 9)) as c:
        rs.review_start(by=member, incident=p1.ref)
        rs.review_save(by=member, incident=p1.ref, sections=TEXT)
        rs.review_publish(by=member, incident=p1.ref)
        c.advance(days=1)
        rs.review_save(
            by=member, incident=p1.ref, sections={**TEXT, "lessons": "Automate expiry checks."}
        )
    review = Review.objects.get(incident=p1)
    assert review.state == "published" and review.revision == 2
    revisions = list(ReviewRevision.objects.filter(review=review).order_by("number"))
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[0].sections["lessons"] == "Watch expiry."
    assert revisions[1].sections["lessons"] == "Automate expiry checks."
    assert kinds(p1)[-1] == "review_revised"


def test_review_starts_from_the_template_with_figures_and_key_entries(p1, member):
    review = rs.review_start(by=member, incident=p1.ref)
    assert "Duration (reported to resolved): 2h" in review.sections["impact"]
    assert "Severity: P1 at 2026-03-06 10:10" in review.sections["impact"]
    picked = [p["seq"] for p in review.picks]
    entries = dict(Incident.objects.get(pk=p1.pk).timeline.values_list("seq", "kind"))
    assert [entries[seq] for seq in picked] == [
        "reported", "acknowledged", "categorized", "public_update", "resolved",
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as exc:
        rs.review_save(by=member, incident=p1.ref, sections=TEXT, picks=[{"seq": 999, "note": ""}])
    assert exc.value.errors[0].field == "picks.0.seq"
    with pytest.raises(InvalidInput):
        rs.review_save(by=member, incident=p1.ref, sections={"verdict": "x"})
    rs.review_save(
        by=member, incident=p1.ref, sections=TEXT, picks=[{"seq": 1, "note": "Northwind called"}]
    )
    assert Review.objects.get(incident=p1).picks == [{"seq": 1, "note": "Northwind called"}]


def test_publishing_needs_summary_trigger_and_lessons(p1, member):
    rs.review_start(by=member, incident=p1.ref)
    with pytest.raises(InvalidInput) as exc:
        rs.review_publish(by=member, incident=p1.ref)
    assert {e.field for e in exc.value.errors} == {"sections.trigger", "sections.lessons"}
    assert Review.objects.get(incident=p1).state == "draft"


def test_stakeholders_may_not_touch_reviews(p1, stakeholder):
    with pytest.raises(PermissionDenied):
        rs.review_start(by=stakeholder, incident=p1.ref)
    with pytest.raises(PermissionDenied):
        rs.action_item_create(
            by=stakeholder, incident=p1.ref, title="x", kind="detect",
            owner="alex@spacewise.test", due_date=dt.date(2030, 1, 1),
        )  # fmt: skip
    assert not Review.objects.exists() and not ActionItem.objects.exists()


def test_blameless_check_suggests_and_never_blocks(p1, member):
    findings = check(
        {"trigger": "Human error: Alex forgot the certificate. Sam should have checked."},
        ["Alex", "Sam"],
    )
    phrases = [f.phrase for f in findings]
    assert "Human error" in phrases and "should have" in phrases and "Alex forgot" in phrases
    assert all(f.suggestion for f in findings)
    assert check({"trigger": "The certificate expired unnoticed."}, ["Alex"]) == []
    rs.review_start(by=member, incident=p1.ref)
    rs.review_save(by=member, incident=p1.ref, sections={**TEXT, "trigger": "Human error."})
    rs.review_publish(by=member, incident=p1.ref)


def test_action_items_are_validated_and_reminded_once(p1, member, manager):
    with clock.frozen(at(2026, 3, 9, 9)) as c:
        with pytest.raises(InvalidInput) as exc:
            rs.action_item_create(
                by=member, incident=p1.ref, title="", kind="blame", owner="nobody@x.test",
                due_date=dt.date(2026, 3, 1),
            )  # fmt: skip
        assert {e.field for e in exc.value.errors} == {"title", "kind", "owner", "due_date"}
        item = rs.action_item_create(
            by=member, incident=p1.ref, title="Alert on certificate expiry", kind="detect",
            owner=member.email, due_date=dt.date(2026, 3, 11),
        )  # fmt: skip
        assert rs.action_item_reminders() == 1  # due in two days
        assert rs.action_item_reminders() == 0
        c.set(at(2026, 3, 12, 9))
        assert rs.action_item_reminders() == 1  # overdue
        assert rs.action_item_reminders() == 0
        rs.action_item_update(by=member, item_id=item.pk, status="done")
    assert kinds(p1)[-4:] == [
        "action_item_added", "action_item_due_soon", "action_item_overdue", "action_item_updated",
    ]  # fmt: skip
    assert ActionItem.objects.get(pk=item.pk).done_at == at(2026, 3, 12, 9)


def test_review_due_entry_is_written_once_after_the_due_date(p1):
    with clock.frozen(at(2026, 3, 13, 12)):
        assert rs.review_due_check() == 0
    with clock.frozen(at(2026, 3, 16, 8)):
        assert rs.review_due_check() == 1
        assert rs.review_due_check() == 0
    entry = Incident.objects.get(pk=p1.pk).timeline.get(kind="review_due")
    assert entry.data == {"due": "2026-03-13", "severity": "P1"}


def test_review_due_check_reads_only_the_incidents_that_are_due(
    member, django_assert_max_num_queries
):
    """However many finished incidents exist, a run before any review falls due is one indexed
    query; once due, each gets its entry once (a published review none), and the next run is
    one query again."""
    finished = [
        worked_incident(
            member,
            reported=at(2026, 3, 6, 10),
            title=f"Outage {n}",
            ack=5,
            categorize=10,
            resolve=60,
        )
        for n in range(12)
    ]
    with clock.frozen(at(2026, 3, 6, 12)):
        rs.review_start(by=member, incident=finished[0].ref)
        rs.review_save(by=member, incident=finished[0].ref, sections=TEXT)
        rs.review_publish(by=member, incident=finished[0].ref)
    with clock.frozen(at(2026, 3, 13, 12)), django_assert_max_num_queries(1):
        assert rs.review_due_check() == 0
    with clock.frozen(at(2026, 3, 16, 8)):
        assert rs.review_due_check() == 11
        with django_assert_max_num_queries(1):
            assert rs.review_due_check() == 0
    due = Incident.objects.filter(timeline__kind="review_due").order_by("pk")
    assert [i.pk for i in due] == [i.pk for i in finished[1:]]
    assert not Incident.objects.filter(review_check_on__isnull=False).exists()


def test_review_due_check_follows_a_reopened_incident(p1, member):
    with clock.frozen(at(2026, 3, 10, 9)) as c:
        s.incident_reopen(by=member, incident=p1.ref, reason="It came back.")
        assert Incident.objects.get(pk=p1.pk).review_check_on is None
        c.set(at(2026, 3, 12, 9))
        s.incident_resolve(by=member, incident=p1.ref, summary="Fixed again.")
    # resolved again on Thursday 12 March: the P1 review is now due five business days later
    with clock.frozen(at(2026, 3, 19, 12)):
        assert rs.review_due_check() == 0
    with clock.frozen(at(2026, 3, 20, 8)):
        assert rs.review_due_check() == 1
    entry = Incident.objects.get(pk=p1.pk).timeline.get(kind="review_due")
    assert entry.data["due"] == "2026-03-19"


def test_reminders_read_only_the_items_that_are_due(p1, member, django_assert_max_num_queries):
    """A run costs one indexed query when nothing is due, however many unfinished items
    exist; each reminder is still written once, and a finished item is never reminded."""
    with clock.frozen(at(2026, 3, 9, 9)) as c:
        items = [
            rs.action_item_create(
                by=member,
                incident=p1.ref,
                title=f"Fix {n}",
                kind="prevent",
                owner=member.email,
                due_date=dt.date(2026, 3, 20),
            )
            for n in range(15)
        ]
        rs.action_item_update(by=member, item_id=items[0].pk, status="done")
        with django_assert_max_num_queries(1):
            assert rs.action_item_reminders() == 0
        c.set(at(2026, 3, 18, 9))
        assert rs.action_item_reminders() == 14
        with django_assert_max_num_queries(1):
            assert rs.action_item_reminders() == 0
        c.set(at(2026, 3, 21, 9))
        assert rs.action_item_reminders() == 14
        with django_assert_max_num_queries(1):
            assert rs.action_item_reminders() == 0
    timeline = Incident.objects.get(pk=p1.pk).timeline
    assert timeline.filter(kind="action_item_due_soon").count() == 14
    assert timeline.filter(kind="action_item_overdue").count() == 14
    assert (
        not timeline.filter(kind__startswith="action_item_", data__item=items[0].pk)
        .exclude(kind__in=["action_item_added", "action_item_updated"])
        .exists()
    )


def test_a_new_due_date_is_reminded_again(p1, member):
    with clock.frozen(at(2026, 3, 9, 9)) as c:
        item = rs.action_item_create(
            by=member, incident=p1.ref, title="Rotate keys", kind="prevent",
            owner=member.email, due_date=dt.date(2026, 3, 10),
        )  # fmt: skip
        assert rs.action_item_reminders() == 1
        rs.action_item_update(by=member, item_id=item.pk, due_date=dt.date(2026, 3, 16))
        assert rs.action_item_reminders() == 0
        c.set(at(2026, 3, 14, 9))
        assert rs.action_item_reminders() == 1
    soon = Incident.objects.get(pk=p1.pk).timeline.filter(kind="action_item_due_soon")
    assert [e.data["due_date"] for e in soon] == ["2026-03-10", "2026-03-16"]


def test_conformance_shows_the_incident_that_skipped_step_3(p1, member):
    skipped = worked_incident(
        member, reported=at(2026, 3, 6, 11), title="Tills offline", ack=5, categorize=10, resolve=90
    )
    with clock.frozen(at(2026, 3, 7, 12)):
        outcome = {o.number: o for o in incident_conformance(skipped)}
        assert outcome[3].missed and outcome[3].state == "late"
        assert outcome[1].on_time and outcome[2].on_time and outcome[4].on_time
        incidents = [Incident.objects.get(pk=p1.pk), Incident.objects.get(pk=skipped.pk)]
        report = aggregate(incidents, step_facts(incidents))
    step3 = report["steps"][2]
    assert step3["by_severity"][0]["text"] == (
        "manager informed and stakeholders notified within 30m for P1: 1 of 2"
    )
    assert step3["missed"] == [{"ref": skipped.ref, "title": "Tills offline", "state": "late"}]
    assert report["steps"][0]["by_severity"][0]["text"] == "acknowledged within 15m for P1: 2 of 2"


def test_published_review_carries_its_public_summary_unless_private(p1, member):
    rs.review_start(by=member, incident=p1.ref)
    rs.review_save(
        by=member, incident=p1.ref, sections={**TEXT, "public_summary": "Payments failed for 2h."}
    )
    rs.review_publish(by=member, incident=p1.ref)
    entry = Incident.objects.get(pk=p1.pk).timeline.get(kind="review_published")
    assert entry.data["public_summary"] == "Payments failed for 2h."

    private = worked_incident(
        member, reported=at(2026, 3, 6, 11), type="security", impact="all", resolve=60
    )
    assert private.private
    rs.review_start(by=member, incident=private.ref)
    rs.review_save(by=member, incident=private.ref, sections={**TEXT, "public_summary": "Leak."})
    rs.review_publish(by=member, incident=private.ref)
    entry = Incident.objects.get(pk=private.pk).timeline.get(kind="review_published")
    assert entry.data["public_summary"] == ""


def test_reminders_run_periodically():
    from incidentdesk.core.periodic import PERIODIC_TASKS

    assert "incidentdesk.reviews.tasks.remind_action_items" in PERIODIC_TASKS
    assert "incidentdesk.reviews.tasks.check_reviews_due" in PERIODIC_TASKS
