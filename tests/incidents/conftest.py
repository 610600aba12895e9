"""Helpers for the incident tests: a fast password hasher and a "nothing was written" check."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from incidentdesk.incidents.models import Incident, InfoRequest, PublicUpdate, Task, TimelineEntry

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is deliberately slow; these tests create many accounts and never log in by password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def db_state() -> dict[str, Any]:
    """Everything an incident action could write, in a comparable form."""
    return {
        "incidents": list(
            Incident.objects.order_by("pk").values_list(
                "pk",
                "status",
                "version",
                "assignee_id",
                "comms_lead_id",
                "type",
                "severity",
                "private",
            )
        ),
        "timeline": list(TimelineEntry.objects.order_by("pk").values_list("pk", "hash")),
        "tasks": list(Task.objects.order_by("pk").values_list("pk", "state", "reason")),
        "questions": list(InfoRequest.objects.order_by("pk").values_list("pk", "answer")),
        "updates": PublicUpdate.objects.count(),
    }


@contextlib.contextmanager
def writes_nothing() -> Iterator[None]:
    before = db_state()
    yield
    assert db_state() == before, "a refused action wrote something"
