"""Publishing incidents: by a member, automatically per severity, and the one way a private
incident reaches the page (a manager's summary)."""

from __future__ import annotations

import pytest

from incidentdesk.core.errors import Conflict, PermissionDenied
from incidentdesk.incidents.services import (
    incident_categorize,
    incident_post_update,
    incident_report,
    incident_resolve,
)
from incidentdesk.statuspage import selectors, services
from incidentdesk.statuspage.models import Publication


def _public_names():
    return [i.name for i in selectors.recent_incidents()]


def test_member_publishes_a_non_private_incident(member, api_component):
    incident = incident_report(by=member, title="Checkout errors")
    publication = services.incident_publish(by=member, incident=incident.ref)
    assert _public_names() == ["Checkout errors"]
    assert publication.automatic is False
    assert incident.timeline.filter(kind="statuspage_published").count() == 1


def test_stakeholder_may_not_publish(stakeholder):
    incident = incident_report(by=stakeholder, title="Checkout errors")
    with pytest.raises(PermissionDenied):
        services.incident_publish(by=stakeholder, incident=incident.ref)
    assert not Publication.objects.exists()


def test_publishing_twice_is_a_conflict(member):
    incident = incident_report(by=member, title="Checkout errors")
    services.incident_publish(by=member, incident=incident.ref)
    with pytest.raises(Conflict):
        services.incident_publish(by=member, incident=incident.ref)


def test_p1_is_published_automatically_when_categorized(member):
    incident = incident_report(by=member, title="Everything is down")
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P1", impact="all"
    )
    publication = Publication.objects.get(incident=incident)
    assert publication.automatic is True
    # the team's own title stays with the team until it writes one for the public
    assert _public_names() == ["Functionality problem"]
    assert selectors.unresolved_incidents()[0].impact == "critical"


def test_p2_is_not_published_automatically(member):
    incident = incident_report(by=member, title="Slow search")
    incident_categorize(
        by=member, incident=incident.ref, type="performance", severity="P2", impact="some"
    )
    assert not Publication.objects.exists()


def test_security_p1_is_never_published_automatically_nor_by_a_member(member):
    incident = incident_report(by=member, title="Credentials leaked")
    incident_categorize(
        by=member, incident=incident.ref, type="security", severity="P1", impact="all"
    )
    assert not Publication.objects.exists()
    with pytest.raises(Conflict, match="private"):
        services.incident_publish(by=member, incident=incident.ref)
    assert _public_names() == []


def test_member_may_not_publish_a_summary(member):
    incident = incident_report(by=member, title="Credentials leaked")
    with pytest.raises(PermissionDenied):
        services.incident_publish_summary(by=member, incident=incident.ref, title="t", body="b")


def test_a_managers_summary_is_the_only_thing_shown_of_a_private_incident(
    manager, member, private_incident, api_component
):
    services.incident_publish_summary(
        by=manager,
        incident=private_incident.ref,
        title="Security maintenance",
        body="We rotated some keys as a precaution.",
        status="resolved",
    )
    [shown] = selectors.recent_incidents()
    assert shown.name == "Security maintenance"
    assert [p.body for p in shown.posts] == ["We rotated some keys as a precaution."]
    assert shown.components == []
    assert shown.impact == "none"
    api_component.refresh_from_db()
    assert api_component.status == "operational"


def test_public_status_follows_the_public_updates_then_resolution(member, published):
    assert selectors.unresolved_incidents()[0].status == "identified"
    incident_post_update(
        by=member, incident=published.ref, status="monitoring", body="A fix is out."
    )
    shown = selectors.unresolved_incidents()[0]
    assert shown.status == "monitoring"
    assert shown.monitoring_at is not None
    incident_resolve(by=member, incident=published.ref, summary="Replaced the node.")
    assert selectors.unresolved_incidents() == []
    [shown] = selectors.recent_incidents()
    assert shown.status == "resolved"
    assert shown.resolved_at is not None


def test_published_review_turns_the_incident_into_postmortem(member, published):
    from django.db import transaction

    from incidentdesk.incidents import timeline

    with transaction.atomic():
        timeline.append(published, kind="review_published", by=member, data={"review": 1})
        published.save()
    assert selectors.recent_incidents()[0].status == "postmortem"


def test_the_reviews_public_summary_is_the_postmortem_post(member, published, client):
    from django.db import transaction

    from incidentdesk.incidents import timeline

    summary = "A database node ran out of disk; we now alert at 80 % full."
    with transaction.atomic():
        timeline.append(
            published,
            kind="review_published",
            by=member,
            data={"review": 1, "revision": 1, "public_summary": summary},
        )
        published.save()
    [shown] = selectors.recent_incidents()
    assert shown.posts[0].status == "postmortem"
    assert shown.posts[0].body == summary
    page = client.get(shown.permalink)
    assert summary in page.content.decode()


def test_component_follows_its_worst_published_open_incident(member, published, api_component):
    api_component.refresh_from_db()
    assert api_component.status == "partial_outage"
    other = incident_report(by=member, title="API down in one region")
    incident_categorize(
        by=member, incident=other.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=other.ref, component=api_component.pk, status="major_outage"
    )
    services.incident_publish(by=member, incident=other.ref)
    api_component.refresh_from_db()
    assert api_component.status == "major_outage"
    incident_resolve(by=member, incident=other.ref, summary="Region failed over.")
    api_component.refresh_from_db()
    assert api_component.status == "partial_outage"
    incident_resolve(by=member, incident=published.ref, summary="Fixed.")
    api_component.refresh_from_db()
    assert api_component.status == "operational"


def test_a_component_set_by_hand_ignores_incidents(manager, member, published, api_component):
    services.component_update(by=manager, component=api_component.pk, status="degraded_performance")
    incident_resolve(by=member, incident=published.ref, summary="Fixed.")
    api_component.refresh_from_db()
    assert api_component.status == "degraded_performance"


def test_withdrawing_takes_it_off_the_page(member, published):
    services.incident_unpublish(by=member, incident=published.ref)
    assert _public_names() == []


def test_recategorizing_as_security_withdraws_a_published_incident(member, published):
    incident_categorize(
        by=member,
        incident=published.ref,
        type="security",
        severity="P2",
        impact="some",
        reason="It turned out to be an attack.",
    )
    assert _public_names() == []


# -- the API -----------------------------------------------------------------------------------


def test_api_publish_returns_201_with_the_public_link(client, member, token_for):
    incident = incident_report(by=member, title="Checkout errors")
    response = client.post(
        f"/api/v1/incidents/{incident.ref}/publish",
        {"title": "Checkout is failing"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(member)}",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["incident"] == incident.ref
    assert body["public_title"] == "Checkout is failing"
    assert body["url"].endswith(f"/status/incidents/{body['public_id']}/")


def test_api_publish_by_a_stakeholder_is_403_and_publishes_nothing(client, stakeholder, token_for):
    incident = incident_report(by=stakeholder, title="Checkout errors")
    response = client.post(
        f"/api/v1/incidents/{incident.ref}/publish",
        HTTP_AUTHORIZATION=f"Bearer {token_for(stakeholder)}",
    )
    assert response.status_code == 403
    assert not Publication.objects.exists()


def test_api_publish_without_credentials_is_401(client, member):
    incident = incident_report(by=member, title="Checkout errors")
    assert client.post(f"/api/v1/incidents/{incident.ref}/publish").status_code == 401


def test_api_publish_unknown_incident_is_404_in_the_error_format(client, member, token_for):
    response = client.post(
        "/api/v1/incidents/INC-999/publish", HTTP_AUTHORIZATION=f"Bearer {token_for(member)}"
    )
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "errors"}


def test_api_component_endpoints_need_a_manager(client, member, manager, token_for):
    as_member = {"HTTP_AUTHORIZATION": f"Bearer {token_for(member)}"}
    as_manager = {"HTTP_AUTHORIZATION": f"Bearer {token_for(manager)}"}
    payload = {"name": "Billing"}
    denied = client.post(
        "/api/v1/statuspage/components", payload, content_type="application/json", **as_member
    )
    assert denied.status_code == 403
    created = client.post(
        "/api/v1/statuspage/components", payload, content_type="application/json", **as_manager
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert client.get("/api/v1/statuspage/components/999", **as_manager).status_code == 404
    patched = client.patch(
        f"/api/v1/statuspage/components/{pk}",
        {"status": "major_outage"},
        content_type="application/json",
        **as_manager,
    )
    assert patched.json()["status"] == "major_outage"
    assert patched.json()["manual"] is True


def test_api_link_component_to_unknown_component_is_404(client, member, token_for):
    incident = incident_report(by=member, title="Checkout errors")
    response = client.post(
        f"/api/v1/incidents/{incident.ref}/components",
        {"component": 999},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(member)}",
    )
    assert response.status_code == 404


MANAGEMENT_ENDPOINTS = [
    ("post", "/api/v1/incidents/{ref}/publish", {}),
    ("post", "/api/v1/incidents/{ref}/publish-summary", {"title": "t", "body": "b"}),
    ("post", "/api/v1/incidents/{ref}/unpublish", None),
    ("post", "/api/v1/incidents/{ref}/components", {"component": 1}),
    ("delete", "/api/v1/incidents/{ref}/components/1", None),
    ("get", "/api/v1/statuspage/components", None),
    ("post", "/api/v1/statuspage/components", {"name": "Billing"}),
    ("get", "/api/v1/statuspage/components/1", None),
    ("patch", "/api/v1/statuspage/components/1", {"status": "major_outage"}),
    ("delete", "/api/v1/statuspage/components/1", None),
    (
        "post",
        "/api/v1/statuspage/maintenances",
        {
            "name": "Upgrade",
            "scheduled_for": "2030-01-01T22:00:00+00:00",
            "scheduled_until": "2030-01-01T23:00:00+00:00",
        },
    ),
    ("post", "/api/v1/statuspage/maintenances/1/updates", {"status": "in_progress"}),
]


@pytest.mark.parametrize("method, url, body", MANAGEMENT_ENDPOINTS)
def test_management_api_refuses_anonymous_callers_and_stakeholders(
    client, stakeholder, token_for, api_component, method, url, body
):
    from incidentdesk.statuspage.models import Component, Maintenance

    incident = incident_report(by=stakeholder, title="Checkout errors")
    url = url.format(ref=incident.ref).replace("/1", f"/{api_component.pk}", 1)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    send = getattr(client, method)
    anonymous = send(url, body, **kwargs) if body is not None else send(url)
    assert anonymous.status_code == 401
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(stakeholder)}"}
    denied = send(url, body, **kwargs, **auth) if body is not None else send(url, **auth)
    assert denied.status_code == 403
    assert not Publication.objects.exists()
    assert list(Component.objects.values_list("name", "status")) == [("API", "operational")]
    assert not Maintenance.objects.exists()
