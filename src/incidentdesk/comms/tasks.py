"""Work done by `incidentdesk worker`."""

from __future__ import annotations

from django_tasks import task

# Lanes: each is a django-tasks queue that the worker runs on its own thread, so mail to people
# never waits behind a receiver that is slow or down, and the status page's subscribers (any
# number of URLs anyone registered) never hold up the team's own channels.
MAIL_LANE = "default"
OUTBOUND_LANE = "outbound"
SUBSCRIBERS_LANE = "subscribers"
LANES = (MAIL_LANE, OUTBOUND_LANE, SUBSCRIBERS_LANE)
SUBSCRIBERS_AUDIENCE = "subscribers"
# Pages to the person on call, on every channel, and the escalation steps that send them.
PAGE_LANE = "default"
PAGE_AUDIENCE = "page"


def lane(channel: str, audience: str = "") -> str:
    if audience == PAGE_AUDIENCE:
        return PAGE_LANE
    if channel == "email":
        return MAIL_LANE
    if audience == SUBSCRIBERS_AUDIENCE:
        return SUBSCRIBERS_LANE
    return OUTBOUND_LANE


@task()
def deliver(key: str) -> str:
    from . import services  # lazy: the services enqueue these tasks, so they import this module

    return services.delivery_attempt(key)


@task()
def deliver_many(keys: list[str]) -> dict[str, int]:
    from . import services  # lazy: the services enqueue these tasks, so they import this module

    return services.deliveries_attempt(keys)


@task()
def sweep_deliveries() -> int:
    from . import services  # lazy: the services enqueue these tasks, so they import this module

    return services.deliveries_sweep()
