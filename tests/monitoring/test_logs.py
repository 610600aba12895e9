"""INCIDENTDESK_LOG_FORMAT=json: the real `serve` writes one JSON object per line on stderr,
its web server's lines included, and a line per request with its id, route, status and time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli.helpers import sqlite_only
from tests.comms.conftest import free_port
from tests.core.test_faults import _wait

pytestmark = sqlite_only


def _status(url: str, headers: dict[str, str]) -> int | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_serve_writes_json_lines_with_each_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENTDESK_", "PROM"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(INCIDENTDESK_DATA_DIR=str(tmp_path), INCIDENTDESK_LOG_FORMAT="json")
    cli = [sys.executable, "-m", "incidentdesk.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "stderr.log", "wb") as err:
        serve = subprocess.Popen(
            [*cli, "serve", "--workers", "1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            assert _wait(lambda: _status(f"{base}/healthz", {}) == 200, 120)
            assert _status(f"{base}/status/", {}) == 200  # the prepared front: before Django
            assert _status(f"{base}/status/subscribe/", {"X-Request-ID": "trace-42"}) == 200
            assert _status(f"{base}/incidents/INC-1", {}) == 200  # the sign-in page
            assert _status(f"{base}/no-such-page", {}) == 404
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(timeout=90)

    lines = [line for line in (tmp_path / "stderr.log").read_text().splitlines() if line]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"].startswith("_granian") for r in records)  # the web server's own
    requests = [r for r in records if r["logger"] == "incidentdesk.requests"]
    status_page = next(r for r in requests if r["path"] == "/status/subscribe/")
    assert status_page["request_id"] == "trace-42"
    assert status_page["route"] == "statuspage:subscribe"
    assert status_page["status"] == 200 and status_page["method"] == "GET"
    assert status_page["duration_ms"] > 0
    detail = next(r for r in requests if r["path"] == "/incidents/INC-1")
    assert detail["route"] == "incidents:detail" and detail["status"] == 302
    assert len(detail["request_id"]) == 32  # made up when the client sent none
    missing = next(r for r in requests if r["path"] == "/no-such-page")
    assert missing["route"] == "unmatched" and missing["status"] == 404
