"""Close is offered only when it can succeed, with the reason when it cannot; resolving with
guideline tasks still open asks first; step 4 does not say "done" while tasks are open."""

from __future__ import annotations

from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident, TaskState
from incidentdesk.reviews import services as reviews
from tests.reviews.helpers import at, worked_incident

TEXT = {"summary": "Card payments failed.", "trigger": "An expired certificate.", "lessons": "x"}


def _resolved_p1(member):
    """A P1 resolved and announced: closing (step 6) is all that is left."""
    incident = worked_incident(
        member, reported=at(2026, 3, 6, 10), ack=5, categorize=10, note=12, update=20, resolve=120
    )
    incidents.incident_post_update(
        by=member, incident=incident.ref, status="resolved", body="Payments work again."
    )
    incident.refresh_from_db()
    return incident


def test_close_is_not_offered_before_the_required_review(client_for, member, manager):
    incident = _resolved_p1(member)
    page = client_for(manager).get(f"/incidents/{incident.ref}").content.decode()
    assert "Close incident</button>" not in page
    assert "Not ready to close:" in page
    assert "its post-incident review must be published before it is closed" in page
    assert "Review the timeline and close the incident" not in page
    assert (
        f'href="/incidents/{incident.ref}/review">Write and publish the post-incident review'
        in page
    )


def test_a_refused_close_says_nothing_was_typed_to_keep(client_for, member, manager):
    incident = _resolved_p1(member)
    response = client_for(manager).post(
        f"/incidents/{incident.ref}/act/close", {"version": incident.version}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "post-incident review must be published" in page
    assert "what you typed is kept" not in page
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.closed_at is None
    assert not incident.timeline.filter(kind="closed").exists()


def test_close_is_offered_once_the_review_is_published(client_for, member, manager):
    incident = _resolved_p1(member)
    reviews.review_start(by=member, incident=incident.ref)
    reviews.review_save(by=member, incident=incident.ref, sections=TEXT)
    reviews.review_publish(by=member, incident=incident.ref)
    manager_client = client_for(manager)
    page = manager_client.get(f"/incidents/{incident.ref}").content.decode()
    assert "Close incident</button>" in page and "Not ready to close:" not in page
    incident.refresh_from_db()
    response = manager_client.post(
        f"/incidents/{incident.ref}/act/close", {"version": incident.version}, follow=True
    )
    assert f"{incident.ref}: Closed." in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "closed"


def _triaged_with_tasks(member):
    incident = worked_incident(member, reported=at(2026, 3, 6, 10), severity="P3", impact="few")
    assert incident.tasks.filter(state=TaskState.OPEN).exists()
    return incident


def test_resolve_with_open_tasks_asks_first_and_writes_nothing(client_for, member):
    incident = _triaged_with_tasks(member)
    client = client_for(member)
    page = client.get(f"/incidents/{incident.ref}").content.decode()
    assert "still open:" in page and 'name="confirm_open_tasks"' in page

    seq = incident.timeline_seq
    response = client.post(
        f"/incidents/{incident.ref}/act/resolve",
        {"version": incident.version, "summary": "Rolled back the release."},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Do or skip them, or confirm that you resolve with them open." in page
    assert "Rolled back the release.</textarea>" in page
    incident.refresh_from_db()
    assert incident.status != "resolved" and incident.timeline_seq == seq


def test_resolve_with_open_tasks_confirmed_and_step_four_not_done(client_for, member):
    incident = _triaged_with_tasks(member)
    open_count = incident.tasks.filter(state=TaskState.OPEN).count()
    client = client_for(member)
    response = client.post(
        f"/incidents/{incident.ref}/act/resolve",
        {"version": incident.version, "summary": "Rolled back.", "confirm_open_tasks": "1"},
        follow=True,
    )
    page = response.content.decode()
    assert f"{incident.ref}: Resolved." in page
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.timeline.get(kind="resolved").data["open_tasks"]
    step = page.split('id="step-resolve"', 1)[1].split("</li>", 1)[0]
    assert ">done<" not in step
    assert f"resolved, {open_count} task{'s' if open_count != 1 else ''} open" in step


def test_resolve_with_every_task_worked_needs_no_confirmation(client_for, member):
    incident = _triaged_with_tasks(member)
    client = client_for(member)
    for task in incident.tasks.all():
        incident.refresh_from_db()
        client.post(
            f"/incidents/{incident.ref}/act/task",
            {"version": incident.version, "task": task.pk, "state": "done"},
        )
    incident.refresh_from_db()
    page = client.get(f"/incidents/{incident.ref}").content.decode()
    assert 'name="confirm_open_tasks"' not in page
    response = client.post(
        f"/incidents/{incident.ref}/act/resolve",
        {"version": incident.version, "summary": "Rolled back."},
        follow=True,
    )
    page = response.content.decode()
    assert f"{incident.ref}: Resolved." in page
    step = page.split('id="step-resolve"', 1)[1].split("</li>", 1)[0]
    assert "done" in step and "open" not in step
