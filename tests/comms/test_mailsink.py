"""`incidentdesk mailsink`: the demo's local SMTP server keeps and lists what it receives."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

from .conftest import free_port


def test_mailsink_keeps_and_prints_received_mail(tmp_path):
    port = free_port()
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "incidentdesk.cli",
            "mailsink",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
        ],
        env={**os.environ, "INCIDENTDESK_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        assert f"Mail sink on smtp://127.0.0.1:{port}" in sink.stdout.readline()
        mail = EmailMessage()
        mail["Subject"] = "[INC-3] Resolved: Tills"
        mail["From"] = "incidents@spacewise.test"
        mail["To"] = "nora@northwind.test"
        mail.set_content("Resolved.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(mail)
        line = sink.stdout.readline()
        assert line.startswith("#1 to nora@northwind.test: [INC-3] Resolved: Tills")
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (kept,) = tmp_path.glob("*.eml")
        assert "Resolved." in kept.read_text()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
