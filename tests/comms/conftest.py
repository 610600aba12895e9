"""Real receivers for the comms tests: an aiosmtpd SMTP server and an HTTP server, both on
127.0.0.1 in the test process."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.test import override_settings

from incidentdesk.comms.transports import email as email_transport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the SMTP server received: one parsed message per delivery (To: one address)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(mail)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    email_transport._close()
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": "",
        "user": "",
        "password": "",
    }
    with override_settings(EMAIL_SMTP=settings, EMAIL_URL_IS_DEFAULT=False):
        yield inbox
    email_transport._close()
    controller.stop()


class Received:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i][2])


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Received]]:
    """(base URL, Received): a real HTTP server that records every POST."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.requests.append(
                (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(received.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # this receiver listens on loopback: outbound requests may reach 127.0.0.1 (only) here
    with override_settings(OUTBOUND_ALLOW_NETWORKS=["127.0.0.1/32"]):
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def run_worker() -> None:
    """Run the real worker over everything queued and due, then return."""
    call_command("worker", batch=True, interval=0)


def deliver_due() -> list[str]:
    """Attempt every queued delivery that is due, as the worker's task would."""
    from incidentdesk.comms.models import Delivery
    from incidentdesk.comms.services import delivery_attempt
    from incidentdesk.core import clock

    keys = Delivery.objects.filter(state="queued", next_attempt_at__lte=clock.now())
    keys = keys.order_by("id").values_list("key", flat=True)
    return [delivery_attempt(key) for key in list(keys)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 is deliberately slow; these tests are not about passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
