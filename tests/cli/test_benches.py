"""The benchmarks under bench/ still run: each one on a tiny data set, in a subprocess, as
`make bench` runs them. Their figures are not judged here (tests never assert timings); this
only keeps them from rotting as the code they measure changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import sqlite_only

pytestmark = sqlite_only

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_queue_bench_runs():
    out = _bench("queue.py", "400", "0.2")
    assert "queue, first page (needs attention)" in out
    assert "incident page" in out
    assert "your day (/home), the manager" in out


def test_queue_search_bench_runs():
    out = _bench("queue.py", "--search", "50", "120")
    assert "searches matching nothing" in out
    assert "ratio" in out


def test_fanout_bench_runs():
    out = _bench("fanout.py", "40", "1")
    assert "recipients: 40" in out
    assert "ratio (IncidentDesk / plain loop)" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the status page bench needs wrk")
def test_statuspage_bench_runs():
    out = _bench("statuspage.py", "--quick")
    assert "vs /healthz" in out
    assert "vs nginx" in out
    assert "under load  served" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the writes bench needs wrk")
def test_writes_bench_runs():
    out = _bench("writes.py", "1", "--clients", "2")
    assert "create  SQLite" in out
    assert "note    SQLite" in out


def test_timeline_bench_runs():
    out = _bench("timeline.py", "120", "2")
    assert "INC-2 120" in out
    for name in ("incident page", "live poll", "API timeline", "insights"):
        assert name in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the footprint bench needs wrk")
def test_footprint_bench_runs_and_serve_idles_within_its_memory_budget():
    out = _bench("footprint.py", "--quick")
    assert "after load:" in out
    assert "a stand-alone incidentdesk worker, idle:" in out
    # memory, not speed: the budget is part of what the product promises
    assert "budget idle:" in out and "of at most 200: within" in out, out
