"""bench/fanout.py's scale-out variant still runs: PostgreSQL, two web processes, one and two
workers, on a tiny organisation. Its figures are not judged here; that every contact got
each update exactly once, and that the pages answered, is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_faults import ON_POSTGRES

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fanout.py"


@pytest.mark.skipif(not ON_POSTGRES, reason="the scale-out fan-out runs on PostgreSQL")
def test_the_scale_out_fan_out_bench_sends_each_update_once_to_everyone():
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--pg", os.environ["INCIDENTDESK_DATABASE_URL"], "40"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "messages per contact: 80 for 40 contacts and 2 updates (0 repeats, 0 missing)" in out
    assert "ratio (2 workers / 1):" in out
    assert "GET healthz:" in out and "GET incident:" in out
    assert ", 0 reports refused" in out
