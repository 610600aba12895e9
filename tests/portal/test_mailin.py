"""`incidentdesk mailin` as a real SMTP listener in a subprocess, on a file SQLite data dir,
spoken to with smtplib."""

from __future__ import annotations

import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from .conftest import SPF_LOCAL
from .dnsserver import DnsServer

BIN = Path(sys.executable).parent / "incidentdesk"
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    def __init__(self, data_dir: Path, port: int, dns: DnsServer) -> None:
        self.data_dir, self.port = data_dir, port
        self.env = {k: v for k, v in os.environ.items() if k != "INCIDENTDESK_DATABASE_URL"} | {
            "INCIDENTDESK_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "incidentdesk.settings",
            "INCIDENTDESK_MAIL_DNS_SERVER": dns.address,
        }

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def send(self, msg: EmailMessage, sender: str | None = None) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.send_message(msg, from_addr=sender)

    def rows(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "incidentdesk.sqlite3") as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def listener(tmp_path_factory) -> Iterator[Listener]:
    data_dir = tmp_path_factory.mktemp("mailin")
    port = free_port()
    dns = DnsServer()
    # northwind.test sends from 127.0.0.1; evil.example too, which proves nothing of Northwind
    dns.txt["northwind.test"] = [SPF_LOCAL]
    dns.txt["evil.example"] = [SPF_LOCAL]
    it = Listener(data_dir, port, dns)
    it.cli("init")
    it.cli(
        "createuser",
        "--email",
        "nora@northwind.test",
        "--password",
        PASSWORD,
        "--role",
        "stakeholder",
        "--org",
        "Northwind",
    )
    it.cli(
        "createuser", "--email", "alex@spacewise.test", "--password", PASSWORD, "--role", "member"
    )
    proc = subprocess.Popen(
        [str(BIN), "mailin", "--host", "127.0.0.1", "--port", str(port)],
        env=it.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert f"Accepting mail for incidents@localhost on 127.0.0.1:{port}" in line, (
        proc.stderr.read() if proc.poll() is not None else line
    )
    yield it
    proc.terminate()
    proc.wait(timeout=30)
    dns.close()


def mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "incidents@localhost", subject
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    return msg


def test_new_incident_from_a_known_stakeholder(listener):
    msg = mail("Nora <nora@northwind.test>", "Scanners drop the connection", "Every few minutes.")
    msg.add_attachment(b"wifi log", maintype="text", subtype="plain", filename="wifi.log")
    listener.send(msg)
    [(pk, title, description)] = listener.rows(
        "SELECT id, title, description FROM incidents_incident WHERE title LIKE 'Scanners%'"
    )
    assert (title, description) == ("Scanners drop the connection", "Every few minutes.")
    assert listener.rows("SELECT filename FROM portal_attachment WHERE incident_id = ?", pk) == [
        ("wifi.log",)
    ]


def test_reply_threading_answers_then_comments(listener):
    listener.send(mail("nora@northwind.test", "Receipts are blank", "All stores."))
    [(pk,)] = listener.rows("SELECT id FROM incidents_incident WHERE title = 'Receipts are blank'")
    listener.cli(
        "manage",
        "shell",
        "-c",
        "from incidentdesk.incidents.services import incident_request_info as ask;"
        "from incidentdesk.accounts.models import User;"
        f"ask(by=User.objects.get(email='alex@spacewise.test'), incident='INC-{pk}', question='Which printer?')",
    )
    listener.send(
        mail("nora@northwind.test", f"Re: [INC-{pk}] A question", "Epson TM-88\n\n> Which printer?")
    )
    assert listener.rows("SELECT answer FROM incidents_inforequest WHERE incident_id = ?", pk) == [
        ("Epson TM-88",)
    ]
    listener.send(mail("nora@northwind.test", f"Re: INC-{pk}", "Now also in the back office."))
    kinds = [
        k
        for (k,) in listener.rows(
            "SELECT kind FROM incidents_timelineentry WHERE incident_id = ? ORDER BY seq", pk
        )
    ]
    assert kinds[-2:] == ["info_provided", "stakeholder_comment"]


def _data_answer(listener: Listener, sender: str, data: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(sender)
        smtp.rcpt("incidents@localhost")
        return smtp.data(data)


def test_unknown_sender_is_held_with_the_same_answer_and_nothing_created(listener):
    before = listener.rows("SELECT count(*) FROM incidents_incident")
    known = _data_answer(
        listener, "nora@northwind.test", mail("nora@northwind.test", "Known", "x").as_bytes()
    )
    unknown = _data_answer(
        listener, "stranger@example.org", mail("stranger@example.org", "Hello", "Help?").as_bytes()
    )
    assert known == unknown == (250, b"2.0.0 Received, thank you")
    assert listener.rows("SELECT count(*) FROM incidents_incident") == [(before[0][0] + 1,)]
    assert listener.rows(
        "SELECT from_address, state FROM portal_heldmail WHERE subject = 'Hello'"
    ) == [("stranger@example.org", "held")]


def test_forged_from_is_held_not_reported_as_the_stakeholder(listener):
    before = listener.rows("SELECT count(*) FROM incidents_incident")
    forged = mail("Ops <nora@northwind.test>", "Urgent: new bank details", "Pay here")
    code, answer = _data_answer(listener, "attacker@evil.example", forged.as_bytes())
    assert (code, answer) == (250, b"2.0.0 Received, thank you")
    assert listener.rows("SELECT count(*) FROM incidents_incident") == before
    assert listener.rows(
        "SELECT envelope_from, reason FROM portal_heldmail WHERE subject LIKE 'Urgent%'"
    ) == [
        (
            "attacker@evil.example",
            "Sender not verified: no DKIM signature or SPF pass aligned with northwind.test",
        )
    ]


def test_mail_in_an_unknown_charset_is_read_not_dropped(listener):
    data = (
        b"From: nora@northwind.test\r\nTo: incidents@localhost\r\n"
        b"Subject: =?x-mac-unknown?q?Caf=E9_tills?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-mac-unknown\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 tills & Bob's\r\n"
    )
    assert _data_answer(listener, "nora@northwind.test", data)[0] == 250
    assert listener.rows(
        "SELECT description FROM incidents_incident WHERE title = 'Café tills'"
    ) == [("Café tills & Bob's",)]


def test_mail_to_another_mailbox_is_refused(listener):
    with (
        pytest.raises(smtplib.SMTPRecipientsRefused),
        smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as smtp,
    ):
        smtp.sendmail("nora@northwind.test", ["postmaster@localhost"], b"Subject: x\r\n\r\ny")


def test_auto_reply_is_ignored(listener):
    before = listener.rows("SELECT count(*) FROM incidents_incident")
    listener.send(
        mail(
            "nora@northwind.test",
            "Out of office",
            "Back Monday",
            **{"Auto-Submitted": "auto-replied"},
        )
    )
    listener.send(mail("nora@northwind.test", "Newsletter", "News", Precedence="bulk"))
    assert listener.rows("SELECT count(*) FROM incidents_incident") == before


def test_malformed_mail_is_dropped_and_the_listener_keeps_going(listener):
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("MAIL FROM:<nora@northwind.test>")
        assert code == 250
        smtp.docmd("RCPT TO:<incidents@localhost>")
        code, _ = smtp.data(b"\x00\xff not a message")
        assert code >= 500
    listener.send(mail("nora@northwind.test", "Still listening", "ok"))
    assert listener.rows(
        "SELECT count(*) FROM incidents_incident WHERE title = 'Still listening'"
    ) == [(1,)]
