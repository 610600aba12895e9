"""On SQLite, writers in several processes take turns instead of racing SQLite's busy loop."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

from tests.cli.helpers import sqlite_only

WRITER = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from django.db import connection, transaction
    name = sys.argv[1]
    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS turns (who TEXT, n INTEGER)")
    waits = []
    for n in range(int(sys.argv[2])):
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("INSERT INTO turns VALUES (%s, %s)", [name, n])
            time.sleep(0.002)  # a transaction that does some work while holding the write lock
        waits.append(time.monotonic() - started)
    print(max(waits))
    """
)


@sqlite_only
def test_writers_in_many_processes_all_get_their_turn(tmp_path):
    """Four processes each commit 25 short write transactions on one SQLite file at once.
    With SQLite's busy handler alone some of them sleep past its time-out ("database is
    locked"); waiting in the kernel's queue, every transaction commits."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidentdesk.settings",
        "INCIDENTDESK_DATA_DIR": str(tmp_path),
        "INCIDENTDESK_DATABASE_URL": "",
    }
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{i}", "25"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for writer in writers:
        _out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err

    rows = sqlite3.connect(tmp_path / "incidentdesk.sqlite3").execute(
        "SELECT who, COUNT(*) FROM turns GROUP BY who"
    )
    assert dict(rows) == {f"w{i}": 25 for i in range(4)}
    assert (tmp_path / "incidentdesk.sqlite3-writers.lock").exists()
