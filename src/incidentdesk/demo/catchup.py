"""The periodic checks run once over generated history, as the worker would have run them.

`demo --scale` writes years of history in bulk, stamped up to a few hours ago. Had the worker
been running through those years, the SLA clocks of the open incidents, the required reviews
and the action items that fell due in them would have been written as timeline entries (with
the notices they cause) by `incidents.services.incident_sla_check`,
`reviews.services.review_due_check` and `action_item_reminders`. A generator that leaves them
unwritten hands that work to the first run of each check after the load: with 300,000
incidents that first run of the reminders took 65 s under load, and a bench timing "one run"
measured the catch-up instead of the check.

Two ways out: write those rows in bulk with the rest of the history, or run the real checks
at the end of the generation. This module does the second, because what is due is small and
does not grow with the years of history: only the last days of the generated span can be due
(an action item's reminder falls two days before its due date, a review's check the day after
its due date; only the at most `scale.OPEN_MAX` open incidents have running SLA clocks). At a
million incidents that is 1,523 reminders and 390 SLA entries on 211 open incidents (counted
by running the generator's stories of the last 70 days of such a run), against some 15
million rows written in bulk; at 0.23 s a row (a 20,000-incident database left due by the
older generator: 108 rows in 24.8 s on the shared 2-core machine at load 10) the catch-up
takes about 7 minutes there, against the 2.3 hours the generation takes at that load. Running
the services keeps one writer of those entries (their chains, their data, the notices the
communication plan queues, the moment each row moves on to) instead of a second copy of each
check's rules in the generator. The entries are stamped when the catch-up runs, as a worker
started then would stamp them; the notices they cause are queued for the next worker to send.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from incidentdesk.incidents.services import incident_sla_check
from incidentdesk.reviews.services import action_item_reminders, review_due_check
from incidentdesk.statuspage.services.maintenance import maintenance_tick

# the checks that act on what falls due over time, in the order the worker's queue holds them
CHECKS: dict[str, Callable[[], int]] = {
    "SLA": incident_sla_check,
    "review due": review_due_check,
    "action item reminders": action_item_reminders,
    "maintenance": maintenance_tick,
}
# one run of a check takes on a batch (200 or 500 rows); the worker runs it again 15 s later
RUNS_MAX = 1_000


@dataclass(frozen=True)
class CaughtUp:
    written: dict[str, int]  # what each check wrote: entries (maintenance: windows moved)
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.written.values())

    def summary(self) -> str:
        each = ", ".join(f"{name} {n:,}" for name, n in self.written.items())
        return (
            f"Periodic checks caught up: {self.total:,} written ({each}) in {self.seconds:,.1f} s."
        )


def catch_up(stream: IO[str] | None = None) -> CaughtUp:
    """Run each periodic check until a run finds nothing to write, as the worker's runs every
    15 seconds would have: a run takes the oldest due rows first and moves each on, so the
    runs end once nothing is due. Writes a line to `stream` before and after."""
    if stream is not None:
        stream.write("Running the periodic checks over the generated history...\n")
        stream.flush()
    started = time.monotonic()
    written: dict[str, int] = {}
    for name, check in CHECKS.items():
        written[name] = 0
        for _ in range(RUNS_MAX):
            made = check()
            written[name] += made
            if made == 0:
                break
    caught = CaughtUp(written, time.monotonic() - started)
    if stream is not None:
        stream.write(caught.summary() + "\n")
        stream.flush()
    return caught
