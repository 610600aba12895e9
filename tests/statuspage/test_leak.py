"""A private incident never leaks: one walk through every output the status page has."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

from incidentdesk.incidents.services import (
    incident_categorize,
    incident_post_update,
    incident_report,
)
from incidentdesk.statuspage import services, subscriptions
from incidentdesk.statuspage.api_v2 import DOCUMENTS
from incidentdesk.statuspage.models import Publication

from .conftest import run_worker

SECRET = "SECRET-TOKEN-LEAK"


def test_a_private_incident_never_leaks_into_any_output(
    client,
    settings,
    tmp_path,
    smtp,
    http_receiver,
    manager,
    member,
    published,
    private_incident,
    api_component,
):
    base, received = http_receiver
    for requested in (
        subscriptions.subscribe_email(email="reader@example.org"),
        subscriptions.subscribe_webhook(url=base + "/hook"),
    ):
        subscriptions.confirm(subscriptions.confirm_token(requested.request))

    # an unpublished ordinary incident and a second private one, with the marker everywhere
    quiet = incident_report(by=member, title=f"{SECRET} unpublished", description=SECRET)
    incident_categorize(
        by=member, incident=quiet.ref, type="performance", severity="P3", impact="few"
    )
    incident_post_update(by=member, incident=quiet.ref, status="investigating", body=SECRET)
    other = incident_report(by=member, title=f"{SECRET} second", description=SECRET)
    incident_categorize(
        by=member, incident=other.ref, type="security", severity="P1", impact="some"
    )
    incident_post_update(by=member, incident=other.ref, status="identified", body=SECRET)
    # a manager publishes a summary of one private incident: only the summary may appear
    services.incident_publish_summary(
        by=manager,
        incident=other.ref,
        title="Precautionary key rotation",
        body="Keys were rotated.",
    )
    incident_post_update(by=member, incident=other.ref, status="monitoring", body=SECRET)
    incident_post_update(
        by=member, incident=published.ref, status="monitoring", body="Public text."
    )
    # deliveries queued before it turned private were of public text only; send them now
    run_worker()

    outputs: dict[str, bytes] = {}
    urls = ["/status/", "/status/history/", "/status/history/2/", "/status/history.atom"]
    urls += ["/status/history.rss", "/status/maintenance.ics", "/status/badge.svg"]
    urls += [f"/status/components/{api_component.pk}/badge.svg"]
    urls += [f"/api/v2/{name}" for name in DOCUMENTS]
    for publication_id in range(1, Publication.objects.count() + 3):
        urls += [f"/status/incidents/{publication_id}/", f"/api/v2/incidents/{publication_id}.json"]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        outputs[url] = response.content

    call_command("statuspage", "export", str(tmp_path / "site"))
    for path in (tmp_path / "site").rglob("*"):
        if path.is_file():
            outputs[f"export:{path.relative_to(tmp_path)}"] = path.read_bytes()
    # the team's own notifications carry the details by design; the subscriber's may not
    for i, mail in enumerate(smtp.to("reader@example.org")):
        outputs[f"mail {i} to the subscriber"] = mail.as_bytes()
    for i, (_, _, body) in enumerate(received.requests):
        outputs[f"webhook {i}"] = body

    assert len([k for k in outputs if k.startswith("export:")]) >= 19
    assert any(k.startswith("mail") for k in outputs) and any(
        k.startswith("webhook") for k in outputs
    )
    leaks = [where for where, content in outputs.items() if SECRET.encode() in content]
    assert leaks == [], f"the private incident leaked into {leaks}"

    # what may appear did: the ordinary incident and the manager's summary, and nothing of
    # the private incidents' component impact (the API stays partially out, not majorly)
    page = outputs["/status/"].decode()
    assert "Public text." in page
    assert "Precautionary key rotation" in outputs["/status/history/"].decode()
    assert (
        "major outage" not in outputs[f"/status/components/{api_component.pk}/badge.svg"].decode()
    )
    assert Path(tmp_path / "site" / "api/v2/summary.json").exists()
