"""Work done by `incidentdesk worker`."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def deliver(key: str) -> str:
    return services.delivery_attempt(key)


@task()
def deliver_many(keys: list[str]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for key in keys:
        outcome = services.delivery_attempt(key)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@task()
def sweep_deliveries() -> int:
    return services.deliveries_sweep()
