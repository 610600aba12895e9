"""An idle task worker on SQLite only reads: it does not take the writers' turn to find that
there is nothing to do, so the web's writers never wait behind its polls; work queued while
it idles is still claimed and done."""

from __future__ import annotations

import fcntl
import os
import subprocess

import pytest

from .helpers import (  # noqa: F401  (a fixture)
    INCIDENTDESK,
    env_for,
    fresh_copy,
    initialised_template,
    run,
    shell,
    sqlite_only,
)

pytestmark = sqlite_only


@pytest.fixture
def data(initialised_template, tmp_path):  # noqa: F811
    return fresh_copy(initialised_template, tmp_path / "data")


def test_an_idle_worker_polls_without_waiting_for_the_writers_turn(data):
    turn = os.open(data / "incidentdesk.sqlite3-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # a writer holds the turn for as long as the worker runs
        fcntl.flock(turn, fcntl.LOCK_EX)
        # its poll sees an empty queue and the batch ends, without a write; a worker that
        # claimed with a write would wait for the turn until the subprocess's time-out
        done = subprocess.run(
            [str(INCIDENTDESK), "worker", "--batch"],
            env=env_for(data),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(turn)
    assert done.returncode == 0, done.stderr


def test_work_queued_while_idle_is_still_done(data):
    shell(
        data,
        "from incidentdesk.statuspage.tasks import refresh_public_front\n"
        "refresh_public_front.enqueue()\n",
    )
    run(data, "worker", "--batch")
    left = shell(
        data,
        "from django_tasks_db.models import DBTaskResult\n"
        "print([t.status for t in DBTaskResult.objects.all()])\n",
    )
    assert left.strip() == "['SUCCESSFUL']"
