"""Work done by `incidentdesk worker` for the status page."""

from __future__ import annotations

from django_tasks import task


@task()
def maintenance_tick() -> int:
    from . import services  # lazy: the services enqueue these tasks, so they import this module

    return services.maintenance_tick()


@task()
def notify_incident(publication_id: int, event: str) -> int:
    from . import (
        subscriptions,  # lazy: the services enqueue these tasks, so they import this module
    )

    return subscriptions.notify_incident(publication_id, event)


@task()
def notify_maintenance(maintenance_id: int, event: str) -> int:
    from . import (
        subscriptions,  # lazy: the services enqueue these tasks, so they import this module
    )

    return subscriptions.notify_maintenance(maintenance_id, event)


@task()
def notify_component(change_id: int, old_status: str) -> int:
    from . import (
        subscriptions,  # lazy: the services enqueue these tasks, so they import this module
    )

    return subscriptions.notify_component(change_id, old_status)


@task()
def refresh_public_front() -> bool:
    """A change made on another machine, or a new day for the uptime bars."""
    from . import prepared  # lazy: the services enqueue these tasks, so they import this module

    return prepared.refresh()
