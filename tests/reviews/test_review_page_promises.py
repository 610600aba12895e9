"""The review page keeps its promises: it says the incident can be closed once the review is
published (and offers to close it then), and nothing typed on it is lost."""

from __future__ import annotations

import pytest

from incidentdesk.reviews import services as rs
from incidentdesk.reviews.models import ActionItem, Review

from .helpers import at, worked_incident

TEXT = {"summary": "Card payments failed.", "trigger": "An expired certificate.", "lessons": "x"}


@pytest.fixture
def p1(member):
    incident = worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )
    rs.review_start(by=member, incident=incident.ref)
    return incident


def test_the_page_promises_what_happens_when_the_review_is_published(client, p1, member, manager):
    client.force_login(manager)
    page = client.get(f"/incidents/{p1.ref}/review").content.decode()
    assert "the incident closes once it is published" not in page
    assert "the incident can be closed once it is published" in page
    assert "Close incident</button>" not in page

    response = client.post(
        f"/incidents/{p1.ref}/review/save", {**TEXT, "then": "publish"}, follow=True
    )
    page = response.content.decode()
    assert "Review published." in page
    p1.refresh_from_db()
    assert p1.status == "resolved"
    assert "can now be closed" in page and "Close incident</button>" in page

    response = client.post(f"/incidents/{p1.ref}/act/close", {"version": p1.version}, follow=True)
    assert f"{p1.ref}: Closed." in response.content.decode()
    p1.refresh_from_db()
    assert p1.status == "closed"
    assert f"{p1.ref} is closed." in client.get(f"/incidents/{p1.ref}/review").content.decode()


def test_a_member_reads_that_a_manager_closes_after_publication(client, p1, member):
    rs.review_save(by=member, incident=p1.ref, sections=TEXT)
    rs.review_publish(by=member, incident=p1.ref)
    client.force_login(member)
    page = client.get(f"/incidents/{p1.ref}/review").content.decode()
    assert f"a manager can now close {p1.ref}" in page
    assert "Close incident</button>" not in page


def test_adding_an_action_item_saves_the_review_text_typed_beside_it(client, p1, member):
    client.force_login(member)
    page = client.get(f"/incidents/{p1.ref}/review").content.decode()
    # the item's fields and button belong to the review form, so the browser sends both
    assert 'id="review-form"' in page
    assert 'name="title" maxlength="300" form="review-form"' in page
    assert 'form="review-form" formaction="/incidents/' in page

    response = client.post(
        f"/incidents/{p1.ref}/action-items",
        {"trigger": "A certificate expired unnoticed.", "title": "Alert on expiry",
         "kind": "detect", "owner": member.email, "due_date": "2030-01-31"},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert "Action item added. The review text is saved with it." in page
    assert "A certificate expired unnoticed.</textarea>" in page
    assert Review.objects.get(incident=p1).sections["trigger"] == "A certificate expired unnoticed."
    assert ActionItem.objects.filter(incident=p1, title="Alert on expiry").exists()


def test_a_refused_action_item_keeps_everything_typed_and_writes_nothing(client, p1, member):
    client.force_login(member)
    seq = p1.timeline.count()
    response = client.post(
        f"/incidents/{p1.ref}/action-items",
        {"trigger": "A certificate expired unnoticed.", "title": "Alert on expiry",
         "kind": "detect", "owner": member.email, "due_date": ""},
    )  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert "The action item was not added." in page and "Due date is required." in page
    assert "A certificate expired unnoticed.</textarea>" in page
    assert 'value="Alert on expiry"' in page
    assert Review.objects.get(incident=p1).sections["trigger"] == ""
    assert not ActionItem.objects.filter(incident=p1).exists()
    assert p1.timeline.count() == seq


def test_a_refused_publication_keeps_the_text(client, p1, member):
    client.force_login(member)
    response = client.post(
        f"/incidents/{p1.ref}/review/save",
        {"summary": "Card payments failed.", "trigger": "Typed, not yet finished",
         "then": "publish"},
    )  # fmt: skip
    page = response.content.decode()
    assert "A review is published with at least its summary, trigger and lessons." in page
    assert "Typed, not yet finished</textarea>" in page
    assert Review.objects.get(incident=p1).state != "published"


def test_a_refused_comment_keeps_the_section_chosen(client, p1, member):
    client.force_login(member)
    response = client.post(
        f"/incidents/{p1.ref}/review/comment", {"body": "", "section": "trigger"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<option value="trigger" selected>' in page


def test_saving_the_review_keeps_an_action_item_typed_but_not_added(client, p1, member):
    client.force_login(member)
    response = client.post(
        f"/incidents/{p1.ref}/review/save",
        {**TEXT, "title": "Alert on expiry", "kind": "detect", "due_date": "2030-01-31"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Review saved." in page
    assert "The action item “Alert on expiry” is not added yet." in page
    assert 'value="Alert on expiry"' in page and 'value="2030-01-31"' in page
    assert Review.objects.get(incident=p1).sections["trigger"] == TEXT["trigger"]
    assert not ActionItem.objects.filter(incident=p1).exists()
