from __future__ import annotations

import pytest
from django.test import override_settings

from incidentdesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RateLimited
from incidentdesk.incidents import services as core
from incidentdesk.portal import services
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment, Follow, ReportDetails
from incidentdesk.portal.selectors import Suggestion, similar_open_incidents, suggestions_for
from incidentdesk.statuspage.services import incident_publish as publish

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


def report(by, title="Checkout fails with error 500", **kw):
    kw.setdefault("description", "Customers cannot pay at the checkout page.")
    return services.portal_report(by=by, title=title, **kw)


def test_report_keeps_details_files_and_follows(stakeholder, component, _attachments_dir):
    incident = report(
        stakeholder,
        problem_type="functionality",
        component_id=component.pk,
        users_affected=40,
        steps="1. open checkout\n2. pay",
        uploads=[Upload("screen.png", PNG)],
    )
    details = ReportDetails.objects.get(incident=incident)
    assert (details.component, details.users_affected, details.problem_type) == (
        component,
        40,
        "functionality",
    )
    [attachment] = Attachment.objects.filter(incident=incident)
    assert attachment.filename == "screen.png"
    assert attachment.content_type == "image/png"
    assert (_attachments_dir / attachment.stored_as).read_bytes() == PNG
    assert Follow.objects.filter(incident=incident, user=stakeholder).exists()
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds == ["reported", "report_details"]
    entry = incident.timeline.get(kind="report_details")
    assert entry.data["attachments"][0]["name"] == "screen.png"


@override_settings(ATTACHMENT_MAX_BYTES=50)
def test_oversized_file_is_refused_naming_the_limit(stakeholder):
    with pytest.raises(InvalidInput) as exc:
        report(stakeholder, uploads=[Upload("big.png", PNG)])
    assert "the limit is 50 bytes per file" in exc.value.errors[0].message
    assert not ReportDetails.objects.exists()


def test_disallowed_type_is_refused(stakeholder, _attachments_dir):
    with pytest.raises(InvalidInput) as exc:
        report(stakeholder, uploads=[Upload("run.exe", b"MZ")])
    assert "run.exe: this type of file is not accepted" in exc.value.detail
    assert not list(_attachments_dir.glob("*")) if _attachments_dir.exists() else True


@override_settings(ATTACHMENT_MAX_COUNT=2)
def test_count_per_incident_is_bounded(stakeholder):
    incident = report(stakeholder, uploads=[Upload("a.txt", b"a"), Upload("b.txt", b"b")])
    with pytest.raises(InvalidInput) as exc:
        services.portal_comment(
            by=stakeholder, incident=incident, body="", uploads=[Upload("c.txt", b"c")]
        )
    assert "at most 2 files" in exc.value.detail


@override_settings(ATTACHMENT_MAX_TOTAL_BYTES=150)
def test_total_size_per_incident_is_bounded(stakeholder):
    incident = report(stakeholder, uploads=[Upload("a.png", PNG)])
    with pytest.raises(InvalidInput) as exc:
        services.portal_comment(
            by=stakeholder, incident=incident, body="more", uploads=[Upload("b.png", PNG)]
        )
    assert "total at most 150 bytes" in exc.value.detail
    assert Attachment.objects.count() == 1


@override_settings(PORTAL_REPORTS_PER_HOUR=2)
def test_flood_of_reports_is_rate_limited(stakeholder):
    report(stakeholder, title="one")
    report(stakeholder, title="two")
    with pytest.raises(RateLimited) as exc:
        report(stakeholder, title="three")
    assert exc.value.status_code == 429
    assert "2 problems in the last hour" in exc.value.detail
    assert stakeholder.reported_incidents.count() == 2


def test_comment_is_a_timeline_entry_with_files(stakeholder):
    incident = report(stakeholder)
    entry = services.portal_comment(
        by=stakeholder,
        incident=incident.ref,
        body="Still failing",
        uploads=[Upload("log.txt", b"x")],
    )
    assert entry.kind == "stakeholder_comment"
    assert entry.data["body"] == "Still failing"
    assert entry.data["attachments"][0]["name"] == "log.txt"


def test_other_org_cannot_comment_or_follow(stakeholder, other_stakeholder):
    incident = report(stakeholder)
    with pytest.raises(NotFound):
        services.portal_comment(by=other_stakeholder, incident=incident.ref, body="hi")
    with pytest.raises(NotFound):
        services.portal_follow(by=other_stakeholder, incident=incident.ref)
    assert incident.timeline.count() == 2


def test_follow_and_unfollow(stakeholder, stakeholder_same_org):
    incident = report(stakeholder)
    assert services.portal_follow(by=stakeholder_same_org, incident=incident.ref)
    assert not services.portal_follow(by=stakeholder_same_org, incident=incident.ref)
    assert services.portal_unfollow(by=stakeholder_same_org, incident=incident.ref)
    assert not Follow.objects.filter(user=stakeholder_same_org).exists()
    assert list(incident.timeline.values_list("kind", flat=True))[-2:] == ["followed", "unfollowed"]


def test_similar_incidents_by_words_and_component(stakeholder, member, component, other_component):
    first = report(stakeholder, title="Checkout page error when paying", component_id=component.pk)
    report(stakeholder, title="Checkout payment error", component_id=other_component.pk)
    unrelated = report(stakeholder, title="Printer offline", description="The label printer.")
    new = report(member, title="Error at checkout when customers pay", component_id=component.pk)
    assert similar_open_incidents(new) == [first]
    assert unrelated not in similar_open_incidents(new)


def test_stakeholder_only_finds_published_incidents_of_others(
    stakeholder, other_stakeholder, member
):
    theirs = report(other_stakeholder, title="Checkout error on payment")
    mine = report(stakeholder, title="Payment error at checkout")
    assert similar_open_incidents(mine, viewer=stakeholder) == []
    core.incident_categorize(
        by=member, incident=theirs, type="functionality", severity="P3", impact="few"
    )
    core.incident_post_update(by=member, incident=theirs, status="investigating", body="Looking")
    assert similar_open_incidents(mine, viewer=stakeholder) == []
    publish(by=member, incident=theirs.ref, title="Payments degraded")
    assert similar_open_incidents(mine, viewer=stakeholder) == [theirs]
    assert suggestions_for(stakeholder, [theirs]) == [
        Suggestion(theirs.ref, "Payments degraded", "investigating", "Investigating", False)
    ]


def test_join_asks_the_team_who_links_the_org_and_raises_suggested_impact(
    stakeholder, other_stakeholder, member
):
    theirs = report(other_stakeholder, title="Checkout error on payment")
    mine = report(stakeholder, title="Payment error at checkout")
    core.incident_post_update(by=member, incident=theirs, status="investigating", body="Looking")
    with pytest.raises(NotFound):
        services.portal_join(by=stakeholder, incident=theirs.ref, from_incident=mine.ref)
    publish(by=member, incident=theirs.ref, title="Payments degraded")
    joined = services.portal_join(by=stakeholder, incident=theirs.ref, from_incident=mine.ref)
    assert (joined.linked, joined.suggestion.title) == (False, "Payments degraded")
    assert set(theirs.affected_orgs.values_list("name", flat=True)) == {"Contoso"}
    assert theirs.timeline.filter(kind="org_join_requested").get().data["from"] == mine.ref
    assert mine.timeline.filter(kind="reporter_joined").get().data["incident"] == theirs.ref
    with pytest.raises(PermissionDenied):
        services.incident_link_organisation(
            by=stakeholder, incident=theirs.ref, organisation="Northwind"
        )
    services.incident_link_organisation(by=member, incident=theirs.ref, organisation="Northwind")
    assert set(theirs.affected_orgs.values_list("name", flat=True)) == {"Northwind", "Contoso"}
    assert Follow.objects.filter(incident=theirs, user=stakeholder).exists()
    with pytest.raises(Conflict):
        services.incident_link_organisation(
            by=member, incident=theirs.ref, organisation="Northwind"
        )
    joined = services.portal_join(by=stakeholder, incident=theirs.ref)
    assert joined.linked is True
    _, impact = core.triage_suggestion(theirs, "functionality", "few")
    assert impact == "all"


def test_team_cannot_join(member, stakeholder):
    incident = report(stakeholder)
    with pytest.raises(PermissionDenied):
        services.portal_join(by=member, incident=incident.ref)


def test_merge_carries_orgs_and_reporters(stakeholder, other_stakeholder, member):
    original = report(stakeholder, title="Checkout error on payment")
    duplicate = report(other_stakeholder, title="Payment error at checkout")
    dup, orig = services.incident_merge(by=member, duplicate=duplicate.ref, original=original.ref)
    assert dup.status == "rejected" and dup.duplicate_of_id == orig.pk
    assert set(orig.affected_orgs.values_list("name", flat=True)) == {"Northwind", "Contoso"}
    assert Follow.objects.filter(incident=orig, user=other_stakeholder).exists()
    merged = orig.timeline.get(kind="merged")
    assert merged.data == {
        "duplicate": dup.ref,
        "organisations_added": ["Contoso"],
        "followers_added": ["carl@contoso.test"],
    }
    assert dup.timeline.filter(kind="rejected", data__duplicate_of=orig.ref).exists()


def test_stakeholder_cannot_merge(stakeholder):
    a, b = report(stakeholder, title="a one"), report(stakeholder, title="b two")
    with pytest.raises(PermissionDenied):
        services.incident_merge(by=stakeholder, duplicate=a.ref, original=b.ref)


def test_cannot_comment_on_closed(stakeholder, member):
    incident = report(stakeholder)
    core.incident_reject(by=member, incident=incident, reason="Not an incident")
    with pytest.raises(Conflict):
        services.portal_comment(by=stakeholder, incident=incident.ref, body="hello")


def test_merge_tells_the_duplicates_reporter(stakeholder, other_stakeholder, member):
    from incidentdesk.comms.models import Delivery

    original = report(stakeholder, title="Checkout error on payment")
    duplicate = report(other_stakeholder, title="Payment error at checkout")
    services.incident_merge(by=member, duplicate=duplicate.ref, original=original.ref)
    told = Delivery.objects.get(key=f"portal-merged-{duplicate.pk}-{other_stakeholder.pk}")
    assert told.recipient == "carl@contoso.test"
    assert f"{duplicate.ref} is the same problem as {original.ref}" in told.subject
