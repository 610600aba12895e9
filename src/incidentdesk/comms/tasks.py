"""Work done by `incidentdesk worker`."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def deliver(key: str) -> str:
    return services.delivery_attempt(key)


@task()
def deliver_many(keys: list[str]) -> dict[str, int]:
    return services.deliveries_attempt(keys)


@task()
def sweep_deliveries() -> int:
    return services.deliveries_sweep()
