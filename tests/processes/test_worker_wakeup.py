"""On PostgreSQL an idle `incidentdesk worker` waits for work to be queued rather than asking
the database over and over: queuing a task wakes the lanes that serve its queue. Here the
worker's polls are an hour apart, so what it does within the test it did because it was
woken (or because a deferred task fell due), never because a poll came round."""

from __future__ import annotations

import subprocess
import sys
from functools import partial

import pytest

from tests.core.test_faults import ON_POSTGRES, Product, database_url  # noqa: F401  (a fixture)

from .support import (
    REPORT_SCRIPT,
    CountingInbox,
    organisation_script,
    smtp_server,
    stop_worker,
    wait_for,
)

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="LISTEN/NOTIFY: PostgreSQL")

MANAGER = "manager@spacewise.test"
HOUR = "3600"

DEFERRED_SCRIPT = """
import datetime as dt
from django.utils import timezone
from incidentdesk.statuspage.tasks import refresh_public_front

refresh_public_front.using(run_after=timezone.now() + dt.timedelta(seconds=2)).enqueue()
"""

STATUSES_SCRIPT = """
from django_tasks_db.models import DBTaskResult
print(sorted({t.status for t in DBTaskResult.objects.filter(task_path__endswith="front")}))
"""


def _more(inbox: CountingInbox, told: int) -> bool:
    return inbox.received[MANAGER] > told


def _front_refreshed(product: Product) -> bool:
    said = product.cli("manage", "shell", "-c", STATUSES_SCRIPT).strip().splitlines()
    return said[-1] == "['SUCCESSFUL']"


def _sleepy_worker(product: Product) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "incidentdesk.cli", "worker", "--interval", HOUR,
         "--idle-poll", HOUR],
        env=product.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def test_a_report_made_while_the_worker_idles_wakes_it_and_its_mails_go_out(
    tmp_path,
    database_url,  # noqa: F811
):
    with smtp_server() as (inbox, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        product.cli("manage", "shell", "-c", organisation_script(3))
        worker = _sleepy_worker(product)
        try:
            # the set-up's notices: every lane looks once when it starts
            assert wait_for(lambda: inbox.received[MANAGER] >= 1, timeout=120)
            for _ in range(2):
                # the manager's notice: the urgent lane, on a thread of its own
                told = inbox.received[MANAGER]
                product.cli("manage", "shell", "-c", REPORT_SCRIPT)
                assert wait_for(partial(_more, inbox, told), timeout=60), (
                    "the idle worker was not woken by the new report's mails"
                )
        finally:
            stop_worker(worker)

    # a stop signal ends the waits at once: a drain, not a kill after the time-out
    assert worker.returncode == 0


def test_a_deferred_task_is_run_when_it_falls_due_without_a_poll(
    tmp_path,
    database_url,  # noqa: F811
):
    with smtp_server() as (_, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        worker = _sleepy_worker(product)
        try:
            # a task of the default queue: the worker's main lane
            product.cli("manage", "shell", "-c", DEFERRED_SCRIPT)
            assert wait_for(partial(_front_refreshed, product), timeout=60, step=0.5), (
                "the deferred task did not run when it fell due"
            )
        finally:
            stop_worker(worker)
