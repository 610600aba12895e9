"""The team's notices have a lane of their own: a new report's mail to the manager goes out
while a fan-out to a whole organisation is still being sent, through the real
`incidentdesk worker`, on the suite's database engine."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.core.test_faults import Product, database_url  # noqa: F401  (a fixture)
from tests.processes.support import (
    POST_UPDATE_SCRIPT,
    REPORT_SCRIPT,
    organisation_script,
    smtp_server,
    wait_for,
)

CONTACTS = 400
MANAGER = "manager@spacewise.test"


def test_a_new_reports_notice_to_the_manager_does_not_wait_for_a_fan_out(
    tmp_path,
    database_url,  # noqa: F811
):
    # 15 ms a message: the 400 stakeholders' mails take about 6 s on one worker
    with smtp_server(delay=0.015) as (inbox, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        product.cli("manage", "shell", "-c", organisation_script(CONTACTS))
        product.cli("worker", "--batch")  # the set-up's own notices
        manager_before = inbox.received[MANAGER]
        product.cli("manage", "shell", "-c", POST_UPDATE_SCRIPT)

        worker = subprocess.Popen(
            [sys.executable, "-m", "incidentdesk.cli", "worker", "--interval", "0.1"],
            env=product.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for(lambda: inbox.count("@stores.test")[0] >= 50, timeout=120), (
                "the fan-out did not start"
            )
            asked_at = time.monotonic()
            product.cli("manage", "shell", "-c", REPORT_SCRIPT)
            assert wait_for(lambda: inbox.received[MANAGER] > manager_before, timeout=60), (
                "the manager never heard of the new report"
            )
            waited = inbox.arrivals[MANAGER][-1] - asked_at
            sent_by_then = inbox.count("@stores.test")[0]
            assert wait_for(lambda: inbox.count("@stores.test")[0] >= CONTACTS, timeout=180)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)

    assert sent_by_then < CONTACTS * 0.9, (
        f"the manager's notice came only after {sent_by_then} of {CONTACTS} stakeholder "
        f"mails ({waited:.1f} s after the report was asked for): it waited behind the fan-out"
    )
    assert inbox.count("@stores.test") == (CONTACTS, CONTACTS), inbox.repeats()
    assert inbox.received[MANAGER] == manager_before + 1
