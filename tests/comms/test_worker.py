"""The real worker command runs the delivery tasks (one per delivery, or one per batch of a
fan-out) and records every outcome."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult

from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.comms.models import Delivery
from incidentdesk.comms.services import TASK_BATCH
from incidentdesk.incidents import services as s

from .conftest import run_worker


def test_worker_sends_a_fan_out_in_batches(transactional_db, smtp, member, stakeholder):
    org = StakeholderOrg.objects.get(name="Northwind")
    User.objects.bulk_create(
        User(email=f"contact{i}@northwind.test", role=Role.STAKEHOLDER, organisation=org)
        for i in range(40)
    )
    incident = s.incident_report(by=stakeholder, title="Tills cannot sync")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few", reason="r"
    )
    s.incident_post_update(by=member, incident=incident, status="identified", body="Found it.")
    fan_out = Delivery.objects.filter(trigger="public_update")
    assert fan_out.count() == 41
    assert fan_out.values("task_id").distinct().count() == -(-41 // TASK_BATCH)

    run_worker()

    assert sorted(m["To"] for m in smtp.messages if "Identified" in m["Subject"]) == sorted(
        fan_out.values_list("recipient", flat=True)
    )
    assert not Delivery.objects.exclude(state="sent").exists()
    assert incident.timeline.filter(kind="delivered", data__trigger="public_update").count() == 41
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
