"""The communication plan's `subscribers` audience: the status page supplies its confirmed
e-mail subscribers, and only for an incident the public page shows in full."""

from __future__ import annotations

from incidentdesk.incidents.services import incident_categorize, incident_report, incident_resolve
from incidentdesk.policy import loader
from incidentdesk.policy.services import policy_activate_text
from incidentdesk.statuspage import services

from .conftest import run_worker
from .test_subscriptions import _links, _path

RULE = """
[[notifications]]
trigger = "resolved"
audiences = ["subscribers"]
channels = ["email"]
template = "resolution_notice"
"""


def _subscribe(client, smtp, address):
    client.post("/status/subscribe/", {"kind": "email", "email": address})
    run_worker()
    [confirmation] = smtp.to(address)
    [confirm_url] = _links(confirmation, "confirm")
    assert client.get(_path(confirm_url)).status_code == 200


def _incident(member, component, title, *, publish):
    """Reported under the policy active now (an incident keeps the policy it was reported
    under), categorized and affecting `component`; on the public page when `publish`."""
    incident = incident_report(by=member, title=title)
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=component.pk, status="partial_outage"
    )
    if publish:
        services.incident_publish(by=member, incident=incident.ref)
    return incident


def _plan_mail(smtp, address, incident):
    subject = f"[{incident.ref}] Resolved: {incident.title}"
    return [m for m in smtp.to(address) if m["Subject"] == subject]


def test_a_confirmed_subscriber_gets_the_plans_mail_for_a_published_incident(
    client, smtp, manager, member, api_component
):
    policy_activate_text(
        by=manager, text=loader.DEFAULT_POLICY_PATH.read_text() + RULE, source="subscribers"
    )
    _subscribe(client, smtp, "reader@example.org")
    published = _incident(member, api_component, "Slow API responses", publish=True)
    unpublished = _incident(member, api_component, "Search index rebuild", publish=False)

    incident_resolve(by=member, incident=published.ref, summary="Replaced the node.")
    incident_resolve(by=member, incident=unpublished.ref, summary="Rebuilt.")
    run_worker()
    [mail] = _plan_mail(smtp, "reader@example.org", published)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{published.ref}: Slow API responses** has been resolved" in text
    assert _plan_mail(smtp, "reader@example.org", unpublished) == []


def test_the_plan_reaches_no_subscriber_who_has_not_confirmed(
    client, smtp, manager, member, api_component
):
    policy_activate_text(
        by=manager, text=loader.DEFAULT_POLICY_PATH.read_text() + RULE, source="subscribers"
    )
    client.post("/status/subscribe/", {"kind": "email", "email": "later@example.org"})
    published = _incident(member, api_component, "Slow API responses", publish=True)
    incident_resolve(by=member, incident=published.ref, summary="Replaced the node.")
    run_worker()
    [confirmation] = smtp.to("later@example.org")
    assert "Confirm your subscription" in confirmation["Subject"]
