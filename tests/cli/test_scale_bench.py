"""bench/scale.py keeps running as the code it measures changes: its quick sizes (200 vs 2,000
incidents, a 1,000-entry timeline) in a subprocess, on the suite's PostgreSQL server (the bench
makes and drops a database of its own there). Figures are never judged here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the scale bench measures PostgreSQL: it runs in the PostgreSQL run of the suite",
)


def test_scale_bench_runs_quick():
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    env["INCIDENTDESK_DATABASE_URL"] = os.environ["INCIDENTDESK_DATABASE_URL"]
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "small: 2" in out and "large: 2,0" in out  # 200 and 2,000 plus the two measured
    for path in (
        "queue, first page",
        "its live poll",
        "GET /api/v1/incidents",
        "insights",
        "/status/",
        "periodic: SLA",
        "periodic: review due",
        "periodic: maintenance",
    ):
        assert out.count(path) == 3, path  # small, large and the ratio
    assert "incident page, 1,0" in out and "long timeline / short timeline" in out
