"""Demo data for communications. The demo's incidents queue their deliveries through the
communication plan as they are created; `incidentdesk serve` starts a worker that sends them
to `incidentdesk mailsink` when it runs, or else keeps them as .eml files in the data
directory's mailsink folder (each delivery's timeline entry says which)."""

from __future__ import annotations

from incidentdesk.accounts.models import User

from .services import preference_set


def load_comms_demo(people: dict[str, User]) -> None:
    """Idempotent: Morgan, the manager, has turned off severity-change e-mails."""
    manager = people.get("manager@spacewise.example")
    if manager is not None:
        preference_set(by=manager, muted=["severity_changed:email"])
