"""Fixtures for the status page: components and a published incident, made by the services."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from incidentdesk.incidents.services import (
    incident_categorize,
    incident_post_update,
    incident_report,
)
from incidentdesk.statuspage import cache, services


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_component(manager):
    return services.component_create(by=manager, name="API", description="The public API")


@pytest.fixture
def web_component(manager):
    services.group_create(by=manager, name="Frontends")
    return services.component_create(by=manager, name="Website", group="Frontends")


@pytest.fixture
def published(member, api_component):
    """A P2 Functionality incident on the page, with one public update, affecting the API."""
    incident = incident_report(by=member, title="Slow API responses")
    incident_categorize(
        by=member, incident=incident.ref, type="functionality", severity="P2", impact="some"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="partial_outage"
    )
    services.incident_publish(by=member, incident=incident.ref)
    incident_post_update(
        by=member, incident=incident.ref, status="identified", body="A database node is overloaded."
    )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def private_incident(member, api_component):
    """A Security incident (private by policy) that links a component: it must never leak."""
    incident = incident_report(by=member, title="SECRET-TOKEN-LEAK credentials exposed")
    incident_categorize(
        by=member, incident=incident.ref, type="security", severity="P1", impact="all"
    )
    services.incident_link_component(
        by=member, incident=incident.ref, component=api_component.pk, status="major_outage"
    )
    incident_post_update(
        by=member, incident=incident.ref, status="investigating", body="SECRET-TOKEN-LEAK detail"
    )
    incident.refresh_from_db()
    return incident


# -- real receivers: an SMTP server and an HTTP server on 127.0.0.1 ------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append(mail)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    from incidentdesk.comms.transports import email as email_transport

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    email_transport._close()
    config = {
        "host": "127.0.0.1",
        "port": controller.port,
        "security": "",
        "user": "",
        "password": "",
    }
    with override_settings(EMAIL_SMTP=config, EMAIL_URL_IS_DEFAULT=False):
        yield inbox
    email_transport._close()
    controller.stop()


class Received:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i][2])


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.requests.append((self.path, dict(self.headers.items()), body))
            self.send_response(204)
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
    """Run every queued task as the worker does (the real task code, in this process and
    this test's transaction), until none is left: the status page's notifications queue
    deliveries, whose tasks send them."""
    from django_tasks_db.models import DBTaskResult

    for _ in range(10):
        ready = list(DBTaskResult.objects.ready())
        if not ready:
            return
        for row in ready:
            result = row.task_result
            row.set_successful(row.task.call(*result.args, **result.kwargs))
