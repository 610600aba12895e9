"""`incidentdesk statuspage export DIR` through the real CLI, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_cli_exports_the_page_the_api_feeds_and_badge(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTDESK_DATABASE_URL"}
    env["INCIDENTDESK_DATA_DIR"] = str(tmp_path / "data")
    cli = [sys.executable, "-m", "incidentdesk.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [*cli, "statuspage", "export", str(tmp_path / "site")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert done.stdout.startswith("Wrote ")
    site = tmp_path / "site"
    assert "All Systems Operational" in (site / "status/index.html").read_text()
    summary = json.loads((site / "api/v2/summary.json").read_text())
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    for name in ("history.atom", "history.rss", "maintenance.ics", "badge.svg"):
        assert (site / "status" / name).stat().st_size > 0
    assert (site / "static/incidentdesk/app.css").exists()

    usage = subprocess.run([*cli, "--help"], env=env, check=True, capture_output=True, text=True)
    assert "statuspage export DIR" in usage.stdout
