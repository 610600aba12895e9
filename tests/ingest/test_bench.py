"""bench/ingest.py still runs, on a tiny load (its figures are not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..cli.helpers import sqlite_only

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


@sqlite_only
def test_the_ingest_bench_runs_and_loses_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "60", "2", "5", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "counted on alerts: 60 of 60; alerts 5; incidents 5" in done.stdout
    assert "ratio (enqueue / plain POST)" in done.stdout
    assert "trigger -> page accepted by SMTP (3 pages): p50" in done.stdout
