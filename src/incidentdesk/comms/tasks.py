"""Work done by `incidentdesk worker`."""

from __future__ import annotations

from typing import Any

from django_tasks import task

# Lanes: each is a django-tasks queue that the worker runs on its own thread. The team's own
# notices to people (the manager, the team, the assignee: what pages someone) never wait
# behind a fan-out to stakeholders or subscribers; mail to people never waits behind a
# receiver that is slow or down; and the status page's subscribers (any number of URLs anyone
# registered) never hold up the team's own channels.
MAIL_LANE = "default"
URGENT_LANE = "urgent"
OUTBOUND_LANE = "outbound"
SUBSCRIBERS_LANE = "subscribers"
LANES = (MAIL_LANE, URGENT_LANE, OUTBOUND_LANE, SUBSCRIBERS_LANE)
SUBSCRIBERS_AUDIENCE = "subscribers"
# the audiences whose notices to a person go on the urgent lane
URGENT_AUDIENCES = frozenset({"manager", "team", "assignee"})
# Pages to the person on call, on every channel, and the escalation steps that send them.
PAGE_LANE = URGENT_LANE
PAGE_AUDIENCE = "page"


def lane(channel: str, audience: str = "", *, person: bool = False) -> str:
    """The lane of a delivery on `channel` to `audience`; `person`: addressed to one person
    (their e-mail or their own push channel), not to a shared chat room or webhook."""
    if audience == PAGE_AUDIENCE:
        return PAGE_LANE
    if audience in URGENT_AUDIENCES and (person or channel == "email"):
        return URGENT_LANE
    if channel == "email":
        return MAIL_LANE
    if audience == SUBSCRIBERS_AUDIENCE:
        return SUBSCRIBERS_LANE
    return OUTBOUND_LANE


def delivery_lane(delivery: Any) -> str:
    return lane(delivery.channel, delivery.audience, person=delivery.user_id is not None)


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
