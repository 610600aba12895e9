"""The incident page describes entries written by every part of the product in words."""

from __future__ import annotations

import pytest

from incidentdesk.incidents.kinds import KIND_LABELS
from incidentdesk.incidents.models import TimelineEntry
from incidentdesk.incidents.timeline_text import describe
from incidentdesk.policy.selectors import active_policy


@pytest.mark.parametrize(
    ("kind", "data", "text"),
    [
        (
            "delivered",
            {
                "trigger": "reported",
                "channel": "email",
                "audience": "manager",
                "recipient": "m@x.test",
            },
            "Reported by email to Managers m@x.test",
        ),
        (
            "delivery_failed",
            {
                "trigger": "resolved",
                "channel": "webhook",
                "recipient": "https://h.test",
                "error": "HTTP 500",
            },
            "Resolved by webhook to https://h.test: HTTP 500",
        ),
        ("stakeholder_comment", {"body": "Still broken"}, "Commented: Still broken"),
        ("org_joined", {"organisation": "Contoso", "from": None}, "Contoso is affected too"),
        (
            "org_join_requested",
            {"organisation": "Fabrikam", "organisation_id": 3, "from": "INC-4"},
            "Fabrikam asks to be listed as affected (from INC-4)",
        ),
        (
            "reporter_joined",
            {"incident": "INC-2", "linked": False},
            "Asked to join INC-2: the same problem",
        ),
        ("merged", {"duplicate": "INC-9"}, "Merged INC-9 into this incident"),
        ("review_waived", {"reason": "Minor"}, "Review waived: Minor"),
    ],
)
@pytest.mark.django_db
def test_entries_of_other_areas_read_as_sentences(kind, data, text):
    _, policy = active_policy()
    assert kind in KIND_LABELS
    assert describe(TimelineEntry(kind=kind, data=data), policy) == text
