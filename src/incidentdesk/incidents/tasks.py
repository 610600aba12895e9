"""Work done by `incidentdesk worker`."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def check_sla_clocks() -> int:
    return services.incident_sla_check()
