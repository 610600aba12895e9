"""Work done by `incidentdesk worker`: escalation steps."""

from __future__ import annotations

from django_tasks import task

from .services import escalation


@task()
def escalate(incident_id: int) -> str:
    return escalation.escalation_step(incident_id)


@task()
def check_escalations() -> int:
    return escalation.escalation_check()
