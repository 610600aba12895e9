"""Periodic work for reviews, run by `incidentdesk worker`."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def remind_action_items() -> int:
    return services.action_item_reminders()


@task()
def check_reviews_due() -> int:
    return services.review_due_check()
