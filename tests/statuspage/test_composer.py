"""The public update composer: one update, written once, goes to the status page, the
incident's stakeholders and the page's subscribers in one action, with the components it
affects; its previews are rendered by each channel's own templates and write nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from incidentdesk.comms.models import Delivery
from incidentdesk.core.errors import Conflict, InvalidInput, PermissionDenied
from incidentdesk.incidents.models import PublicUpdate, TimelineEntry
from incidentdesk.incidents.services import incident_categorize, incident_report
from incidentdesk.statuspage import services, subscriptions
from incidentdesk.statuspage.models import Component, IncidentComponent, Publication

from .conftest import run_worker

INTERNAL = "Checkout page times out for all stores since 10:00"
PUBLIC = "Checkout is slow or timing out"
EMAIL_ONLY = "reply to this message"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def incident(member, stakeholder, api_component):
    found = incident_report(by=stakeholder, title=INTERNAL, description="All stores, since 10:00.")
    incident_categorize(
        by=member,
        incident=found.ref,
        type="performance",
        severity="P2",
        impact="few",
        reason="All stores are slow",
    )
    services.incident_publish(by=member, incident=found.ref, title=PUBLIC)
    found.refresh_from_db()
    return found


@pytest.fixture
def reader(db):
    asked = subscriptions.subscribe_email(email="reader@example.org")
    subscriptions.confirm(subscriptions.confirm_token(asked.request))
    return "reader@example.org"


def written() -> tuple[int, ...]:
    return (
        TimelineEntry.objects.count(),
        PublicUpdate.objects.count(),
        Delivery.objects.count(),
        DBTaskResult.objects.count(),
        IncidentComponent.objects.count(),
    )


def test_one_update_reaches_the_page_the_stakeholders_and_the_subscribers(
    client, smtp, incident, member, stakeholder, reader, api_component
):
    run_worker()
    before = incident.timeline_seq
    services.incident_communicate(
        by=member,
        incident=incident.ref,
        status="identified",
        body="A slow payment provider; we are switching to the backup.",
        components={str(api_component.pk): "degraded_performance"},
    )
    incident.refresh_from_db()
    [entry] = incident.timeline.filter(seq__gt=before, actor=member)
    assert entry.kind == "public_update"
    assert entry.data["components"] == [{"component": "API", "status": "degraded_performance"}]
    assert Component.objects.get(pk=api_component.pk).status == "degraded_performance"
    run_worker()

    publication = Publication.objects.get(incident=incident)
    page = text(client.get(f"/status/incidents/{publication.pk}/"))
    assert PUBLIC in page and "switching to the backup" in page
    assert "API (degraded performance)" in page
    feed = client.get("/api/v2/incidents.json").json()["incidents"][0]
    assert feed["name"] == PUBLIC
    assert feed["incident_updates"][0]["body"].endswith("switching to the backup.")
    told = [smtp.to(stakeholder.email)[-1], smtp.to(reader)[-1]]
    for mail in told:
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert "switching to the backup" in body and PUBLIC in mail["Subject"]
    for shown in (page, str(feed), *(m.as_string() for m in told)):
        assert INTERNAL not in shown and EMAIL_ONLY not in shown


def test_public_updates_are_newest_first_everywhere(client, incident, member):
    for words in ("First we looked.", "Then we found it.", "Now we watch it."):
        services.incident_communicate(
            by=member, incident=incident.ref, status="identified", body=words
        )
    publication = Publication.objects.get(incident=incident)
    page = text(client.get(f"/status/incidents/{publication.pk}/"))
    assert (
        page.index("Now we watch it")
        < page.index("Then we found it")
        < page.index("First we looked")
    )
    posts = client.get("/api/v2/incidents.json").json()["incidents"][0]["incident_updates"]
    assert [p["body"] for p in posts[:3]] == [
        "Now we watch it.",
        "Then we found it.",
        "First we looked.",
    ]
    feed = client.get("/status/history.atom").content.decode()
    assert feed.index("Now we watch it") < feed.index("First we looked")


def test_the_preview_shows_every_channel_and_writes_nothing(
    incident, member, stakeholder, reader, api_component
):
    before = written()
    previews = services.incident_communicate_preview(
        by=member,
        incident=incident.ref,
        status="monitoring",
        body="A fix is in place.",
        title="Checkout was slow",
        components={str(api_component.pk): "partial_outage"},
    )
    assert written() == before
    incident.refresh_from_db()
    assert incident.public_title == ""
    assert Publication.objects.get(incident=incident).public_title == PUBLIC
    page = previews.status_page
    assert page.name == "Checkout was slow" and page.posts[0].body == "A fix is in place."
    assert [(c.name, s) for c, s in page.components] == [("API", "partial_outage")]
    assert previews.stakeholder.recipients == 1
    assert previews.stakeholder.subject == "Monitoring: Checkout was slow"
    assert "A fix is in place." in previews.stakeholder.body
    assert previews.subscriber.recipients == 1
    assert "Checkout was slow" in previews.subscriber.subject
    for preview in (previews.stakeholder, previews.subscriber):
        assert INTERNAL not in preview.subject + preview.body


def test_an_unpublished_incident_tells_its_stakeholders_only(member, stakeholder, reader):
    quiet = incident_report(by=stakeholder, title=INTERNAL)
    previews = services.incident_communicate_preview(
        by=member, incident=quiet.ref, status="investigating", body="We are looking."
    )
    assert previews.status_page is None and previews.subscriber is None
    assert previews.stakeholder.subject == "Investigating: the reported problem"


def test_who_may_not_and_what_is_refused_writes_nothing(incident, stakeholder, member):
    before = written()
    with pytest.raises(PermissionDenied):
        services.incident_communicate(
            by=stakeholder, incident=incident.ref, status="identified", body="Hi"
        )
    with pytest.raises(InvalidInput) as bad:
        services.incident_communicate(
            by=member,
            incident=incident.ref,
            status="fixed",
            body="",
            components={"9999": "major_outage"},
        )
    assert {e.field for e in bad.value.errors} == {"status", "body", "components"}
    with pytest.raises(InvalidInput):
        services.incident_communicate(
            by=member, incident=incident.ref, status="resolved", body="All good."
        )
    with pytest.raises(Conflict):
        services.incident_communicate(
            by=member, incident=incident.ref, status="identified", body="x", expected_version=0
        )
    assert written() == before


def _as(user):
    c = Client()
    c.force_login(user)
    return c


def test_the_composer_page_previews_then_posts_in_one_click(incident, member, api_component):
    c = _as(member)
    page = c.get(f"/incidents/{incident.ref}/update?template=identified")
    assert page.status_code == 200
    assert "We have identified the cause" in text(page) and "Post and send" not in text(page)
    form = {
        "status": "identified",
        "title": PUBLIC,
        "body": "Cause of {title} **found**.",
        f"component-{api_component.pk}": "major_outage",
        "version": str(incident.version),
    }
    preview = c.post(f"/incidents/{incident.ref}/update", {**form, "action": "preview"})
    shown = text(preview)
    assert "Status page, as the public will see it" in shown
    assert (
        "E-mail to the stakeholders" in shown and "E-mail to the status page's subscribers" in shown
    )
    assert (
        f"Cause of {PUBLIC} found" in shown and "<strong>found</strong>" in preview.content.decode()
    )
    assert "Post and send" in shown
    assert not PublicUpdate.objects.exists()
    sent = c.post(f"/incidents/{incident.ref}/update", {**form, "action": "send"})
    assert sent.status_code == 302
    (update,) = PublicUpdate.objects.all()
    assert update.body == f"Cause of {PUBLIC} **found**."
    after = text(c.get(f"/incidents/{incident.ref}/update"))
    assert "On the status page now" in after and f"Cause of {PUBLIC}" in after


def test_the_old_communications_form_goes_on_to_the_composer(incident, member):
    c = _as(member)
    r = c.post(
        f"/incidents/{incident.ref}/communications",
        {"status": "identified", "body": "Found.", "action": "preview"},
    )
    assert r.status_code == 307 and r["Location"] == f"/incidents/{incident.ref}/update"
    r = c.get(f"/incidents/{incident.ref}/communications?template=resolved")
    assert r["Location"] == f"/incidents/{incident.ref}/update?template=resolved"


def test_stakeholders_and_strangers_cannot_open_the_composer(incident, stakeholder):
    r = _as(stakeholder).post(
        f"/incidents/{incident.ref}/update", {"status": "identified", "body": "x", "action": "send"}
    )
    assert r.status_code == 403 and not PublicUpdate.objects.exists()
    r = Client().get(f"/incidents/{incident.ref}/update")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_the_components_are_set_beside_the_update_without_sending_one(
    incident, member, stakeholder, api_component
):
    other = services.component_create(by=None, name="Checkout", status="operational")
    c = _as(member)
    typed = "Half written, not to be sent yet."
    form = {
        "status": "",
        "body": typed,
        f"component-{api_component.pk}": "partial_outage",
        f"component-{other.pk}": "operational",
        "version": str(incident.version),
        "action": "components",
    }
    deliveries = Delivery.objects.count()
    r = c.post(f"/incidents/{incident.ref}/update", form)
    assert r.status_code == 200
    shown = text(r)
    assert "Components saved (API: partial outage). No update was sent." in shown
    assert typed in shown  # the message typed so far is kept
    assert not PublicUpdate.objects.exists() and Delivery.objects.count() == deliveries
    [entry] = incident.timeline.filter(kind="statuspage_component_linked")
    assert entry.actor == member
    assert entry.data == {"component": "API", "status": "partial_outage", "previous": None}
    assert Component.objects.get(pk=api_component.pk).status == "partial_outage"
    publication = Publication.objects.get(incident=incident)
    assert "API (partial outage)" in text(Client().get(f"/status/incidents/{publication.pk}/"))

    # the page now carries the new version: the next step goes through, and takes it off
    incident.refresh_from_db()
    assert f'name="version" value="{incident.version}"' in r.content.decode()
    form.update({f"component-{api_component.pk}": "operational", "version": incident.version})
    r = c.post(f"/incidents/{incident.ref}/update", form)
    assert "Components saved (API: not affected)" in text(r)
    assert incident.timeline.filter(kind="statuspage_component_unlinked").count() == 1
    assert not IncidentComponent.objects.filter(incident=incident).exists()
    assert Component.objects.get(pk=api_component.pk).status == "operational"
    # the same again changes nothing and writes nothing
    before = written()
    r = c.post(f"/incidents/{incident.ref}/update", {**form, "version": ""})
    assert "nothing changed" in text(r) and written() == before


def test_stakeholders_and_strangers_cannot_set_the_components(incident, stakeholder, api_component):
    before = written()
    with pytest.raises(PermissionDenied):
        services.incident_components_set(
            by=stakeholder,
            incident=incident.ref,
            components={str(api_component.pk): "major_outage"},
        )
    post = {f"component-{api_component.pk}": "major_outage", "action": "components"}
    r = _as(stakeholder).post(f"/incidents/{incident.ref}/update", post)
    assert r.status_code == 403
    r = Client().post(f"/incidents/{incident.ref}/update", post)
    assert r.status_code in (302, 403)
    assert written() == before
    assert Component.objects.get(pk=api_component.pk).status == "operational"


def test_a_wrong_component_or_status_is_refused_by_name(incident, member, api_component):
    before = written()
    with pytest.raises(InvalidInput) as bad:
        services.incident_components_set(
            by=member,
            incident=incident.ref,
            components={"9999": "major_outage", str(api_component.pk): "on_fire"},
        )
    assert [e.message for e in bad.value.errors] == [
        "No component 9999.",
        "API: unknown status 'on_fire'.",
    ]
    r = _as(member).post(
        f"/incidents/{incident.ref}/update",
        {f"component-{api_component.pk}": "on_fire", "action": "components"},
    )
    assert r.status_code == 200 and "API: unknown status" in text(r)
    assert written() == before


def test_the_publish_form_never_offers_the_internal_title(member):
    quiet = incident_report(by=member, title=INTERNAL)
    page = _as(member).get(f"/status/manage/incidents/{quiet.ref}").content.decode()
    [field] = re.findall(r'<input[^>]*id="p-title"[^>]*>', page)
    assert 'value=""' in field and "required" in field
