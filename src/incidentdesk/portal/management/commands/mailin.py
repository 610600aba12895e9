"""`incidentdesk mailin`: the SMTP listener a mail server forwards the intake address to."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from incidentdesk.portal.intake import accepts, intake_address, receive


def _receive_in_thread(
    mail_from: str, rcpt_tos: list[str], data: bytes, client_ip: str | None, helo: str
) -> str:
    # a long-running listener must not keep a connection the database has dropped
    close_old_connections()
    try:
        return receive(mail_from, rcpt_tos, data, client_ip=client_ip, helo=helo)
    finally:
        close_old_connections()


class IntakeHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not accepts(address):
            return (
                f"550 5.1.1 No mailbox {address} here; send incident reports to {intake_address()}"
            )
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        peer = session.peer
        client_ip = peer[0] if isinstance(peer, tuple) and peer else None
        loop = asyncio.get_running_loop()
        # the ORM is synchronous: run it in a worker thread, away from the server's loop
        return await loop.run_in_executor(
            None,
            _receive_in_thread,
            envelope.mail_from or "",
            list(envelope.rcpt_tos),
            data,
            client_ip,
            session.host_name or "",
        )


class Command(BaseCommand):
    help = "Run the SMTP listener for the incident intake address."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: Any, **options: Any) -> None:
        # attachments arrive base64-encoded: a third larger than the files themselves
        limit = int(settings.ATTACHMENT_MAX_TOTAL_BYTES * 1.4) + 2**20
        controller = Controller(
            IntakeHandler(),
            hostname=options["host"],
            port=options["port"],
            data_size_limit=limit,
            server_hostname=options["host"],
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        controller.start()
        self.stdout.write(
            f"Accepting mail for {intake_address()} on {options['host']}:{options['port']}",
        )
        self.stdout.flush()
        try:
            while not stop.wait(1):
                pass
        finally:
            controller.stop()
