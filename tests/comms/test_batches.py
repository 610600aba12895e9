"""A fan-out's deliveries are attempted in batches: each one's outcome is recorded as if it
had been sent alone, and a batch that runs short of its lease hands the rest on unsent."""

from __future__ import annotations

from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.comms.models import Delivery
from incidentdesk.comms.services import deliveries_attempt
from incidentdesk.incidents import services as s

from .conftest import run_worker


def _fan_out(member, stakeholder, contacts: int):
    org = StakeholderOrg.objects.get(name="Northwind")
    User.objects.bulk_create(
        User(email=f"contact{i}@northwind.test", role=Role.STAKEHOLDER, organisation=org)
        for i in range(contacts)
    )
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few", reason="r"
    )
    run_worker()  # what categorizing sent
    s.incident_post_update(by=member, incident=incident, status="identified", body="Found it.")
    return incident, Delivery.objects.filter(trigger="public_update").order_by("id")


def test_one_refused_recipient_fails_alone_in_its_batch(
    transactional_db, smtp, member, stakeholder
):
    incident, fan_out = _fan_out(member, stakeholder, 9)
    smtp.refuse.add("contact4@northwind.test")
    keys = list(fan_out.values_list("key", flat=True))

    outcomes = deliveries_attempt(keys)

    assert outcomes == {"sent": 9, "failed": 1}
    refused = fan_out.get(recipient="contact4@northwind.test")
    assert refused.state == "failed" and "550" in refused.last_error
    assert fan_out.filter(state="sent").count() == 9
    entries = incident.timeline.filter(data__trigger="public_update")
    assert entries.filter(kind="delivered").count() == 9
    failed = entries.get(kind="delivery_failed")
    assert failed.data["recipient"] == "contact4@northwind.test"
    # the same batch again sends nothing more
    assert deliveries_attempt(keys) == {"nothing to do": 10}
    assert len([m for m in smtp.messages if "Identified" in m["Subject"]]) == 9


def test_a_batch_short_of_lease_hands_the_rest_on_unsent(
    transactional_db, smtp, settings, member, stakeholder
):
    incident, fan_out = _fan_out(member, stakeholder, 4)
    keys = list(fan_out.values_list("key", flat=True))
    old_task = fan_out.first().task_id

    settings.DELIVERY_LEASE_SECONDS = 0  # no time left at all: nothing may be sent
    assert deliveries_attempt(keys) == {"handed over": 5}
    assert not [m for m in smtp.messages if "Identified" in m["Subject"]]
    for delivery in fan_out:
        assert delivery.state == "queued"
        assert delivery.attempts == 0 and delivery.claimed_until is None
        assert delivery.task_id != old_task

    settings.DELIVERY_LEASE_SECONDS = 120
    run_worker()
    assert sorted(m["To"] for m in smtp.messages if "Identified" in m["Subject"]) == sorted(
        fan_out.values_list("recipient", flat=True)
    )
    assert incident.timeline.filter(kind="delivered", data__trigger="public_update").count() == 5
