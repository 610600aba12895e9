"""Work done by `incidentdesk worker`: escalation steps."""

from __future__ import annotations

from django_tasks import task


@task()
def escalate(incident_id: int) -> str:
    from .services import escalation  # lazy: escalation enqueues this task, so imports this module

    return escalation.escalation_step(incident_id)


@task()
def check_escalations() -> int:
    from .services import escalation  # lazy: escalation enqueues this task, so imports this module

    return escalation.escalation_check()
