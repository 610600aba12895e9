"""Outbound requests (webhooks, Apprise) reach public addresses only: checked on every attempt
after the name is resolved, redirects not followed, short timeouts. The receivers are real
HTTP servers on 127.0.0.1, which each test allows explicitly where it means to reach one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from incidentdesk.comms import services
from incidentdesk.comms.models import Delivery
from incidentdesk.comms.transports import guard

from .conftest import deliver_due


def _queue(channel: str, url: str, key: str) -> None:
    services.message_queue(
        channel=channel, recipient=url, subject="s", body_markdown="b", key=key, payload={}
    )


@pytest.fixture
def redirecting():
    """A receiver on 127.0.0.1 that answers 307 to a second receiver on 127.0.0.2."""
    reached: list[str] = []

    class Target(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            reached.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    target = ThreadingHTTPServer(("127.0.0.2", 0), Target)
    where = f"http://127.0.0.2:{target.server_address[1]}/inside"

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(307)
            self.send_header("Location", where)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    source = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    servers = [source, target]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{source.server_address[1]}", reached
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, socket.socket]]:
    """A receiver that takes connections and never answers, and its socket."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", listener
    listener.close()


@pytest.fixture
def silent(silent_listener) -> str:
    return silent_listener[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.:{port}/",
        "http://localhost.:{port}/",
        "http://localhost:{port}/",
        "http://2130706433:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://0x7f.1:{port}/",
        "http://127.1:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::1]:{port}/",
        "http://0.0.0.0:{port}/",
        "http://169.254.169.254:{port}/latest/meta-data",
        "http://10.1.2.3:{port}/",
    ],
)
def test_a_webhook_to_a_non_public_address_is_refused_on_delivery(http_receiver, settings, url):
    base, received = http_receiver
    settings.OUTBOUND_ALLOW_NETWORKS = []
    port = base.rsplit(":", 1)[1]
    _queue("webhook", url.format(port=port), "w-private")
    assert deliver_due() == ["failed"]
    delivery = Delivery.objects.get(key="w-private")
    assert "non-public address" in delivery.last_error
    assert received.requests == []


def test_an_address_allowed_when_queued_is_checked_again_when_sent(http_receiver, settings):
    base, received = http_receiver
    _queue("webhook", base + "/hook", "w-later")
    settings.OUTBOUND_ALLOW_NETWORKS = []
    assert deliver_due() == ["failed"]
    assert received.requests == []
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    _queue("webhook", base + "/hook", "w-allowed")
    assert deliver_due() == ["sent"]
    assert [path for path, _, _ in received.requests] == ["/hook"]


def test_a_webhook_redirect_is_not_followed(redirecting, settings):
    base, reached = redirecting
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32", "127.0.0.2/32"]
    _queue("webhook", base + "/hook", "w-redirect")
    assert deliver_due() == ["failed"]
    assert "redirects are not followed" in Delivery.objects.get(key="w-redirect").last_error
    assert reached == []


def test_apprise_does_not_follow_a_redirect_to_a_private_address(redirecting, settings):
    base, reached = redirecting
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    port = base.rsplit(":", 1)[1]
    _queue("apprise", f"json://127.0.0.1:{port}/chat", "a-redirect")
    assert deliver_due() == ["failed"]
    assert "non-public address" in Delivery.objects.get(key="a-redirect").last_error
    assert reached == []


@pytest.mark.parametrize("host", ["127.0.0.1.", "localhost.", "2130706433"])
def test_apprise_to_a_non_public_address_is_refused(http_receiver, settings, host):
    base, received = http_receiver
    settings.OUTBOUND_ALLOW_NETWORKS = []
    port = base.rsplit(":", 1)[1]
    _queue("apprise", f"json://{host}:{port}/chat", "a-private")
    assert deliver_due() == ["failed"]
    assert "non-public address" in Delivery.objects.get(key="a-private").last_error
    assert received.requests == []


def test_a_receiver_that_never_answers_is_given_up_on_and_retried(silent, settings):
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.2
    _queue("webhook", silent, "w-silent")
    assert deliver_due() == ["retry"]
    delivery = Delivery.objects.get(key="w-silent")
    assert delivery.state == "queued"
    assert "timed out" in delivery.last_error


@pytest.mark.parametrize(
    "address, allowed",
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),
    ],
)
def test_public_addresses_pass_and_others_do_not(db, address, allowed):
    import ipaddress

    assert guard.address_allowed(ipaddress.ip_address(address)) is allowed


# -- lanes: a slow receiver holds up only its own lane ----------------------------------------


def test_each_kind_of_delivery_is_queued_in_its_lane(db):
    from django_tasks_db.models import DBTaskResult

    for channel, recipient, audience, key in [
        ("email", "pat@example.org", "", "mail"),
        ("webhook", "https://hooks.example.org/team", "", "team"),
        ("apprise", "json://chat.example.org/", "", "chat"),
        ("webhook", "https://example.org/subscriber", "subscribers", "subscriber"),
        ("email", "boss@spacewise.test", "manager", "manager"),
        ("email", "oncall@spacewise.test", "assignee", "assignee"),
        ("email", "pat@example.org", "stakeholders", "stakeholder"),
        ("webhook", "https://hooks.example.org/team-room", "team", "team room"),
    ]:
        services.message_queue(
            channel=channel,
            recipient=recipient,
            subject="s",
            body_markdown="b",
            key=key,
            audience=audience,
        )
    lanes = {
        d.key: DBTaskResult.objects.get(id=d.task_id).queue_name for d in Delivery.objects.all()
    }
    assert lanes == {
        "mail": "default",
        "team": "outbound",
        "chat": "outbound",
        "subscriber": "subscribers",
        # the team's notices to people never wait behind a fan-out to stakeholders
        "manager": "urgent",
        "assignee": "urgent",
        "stakeholder": "default",
        # a shared room may be slow to answer: it stays on the outbound lane
        "team room": "outbound",
    }


SLOW_LANE_SCRIPT = """
from incidentdesk.comms.services import message_queue
for i, url in enumerate({urls!r}):
    message_queue(channel="webhook", recipient=url, subject="s", body_markdown="b",
                  key=f"slow-{{i}}", payload={{}}, audience="subscribers")
    message_queue(channel="webhook", recipient=url, subject="s", body_markdown="b",
                  key=f"team-{{i}}", payload={{}})
message_queue(channel="email", recipient="pat@example.org", subject="Behind them",
              body_markdown="b", key="mail")
"""
ATTEMPTED_SCRIPT = """
from incidentdesk.comms.models import Delivery
print("ATTEMPTED", Delivery.objects.filter(key__startswith="slow-", attempts__gt=0).count())
"""


def test_mail_queued_behind_unreachable_webhooks_is_sent_without_waiting_for_them(tmp_path):
    """The finding: 823 deliveries to unreachable subscriber URLs delayed a stakeholder's mail
    by minutes. Here webhooks to 20 receivers that never answer (each a subscriber and a team
    channel) are queued before one mail; the real worker sends the mail while nearly all of
    them are still waiting their turn."""
    from aiosmtpd.controller import Controller

    from .conftest import Inbox, free_port
    from .test_worker_crash import _cli, _env, _wait, _worker

    listeners = []
    for _ in range(20):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listeners.append(listener)
    urls = [f"http://127.0.0.1:{x.getsockname()[1]}/hook" for x in listeners]
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = _env(tmp_path, port)
    env.update(
        INCIDENTDESK_OUTBOUND_ALLOW_NETWORKS="127.0.0.1/32", INCIDENTDESK_OUTBOUND_TIMEOUT="2"
    )
    worker = None
    try:
        _cli("init", env=env)
        _cli("manage", "shell", "-c", SLOW_LANE_SCRIPT.format(urls=urls), env=env)
        worker = _worker(env)
        assert _wait(lambda: inbox.to("pat@example.org"), timeout=120), "the mail never came"
        out = _cli("manage", "shell", "-c", ATTEMPTED_SCRIPT, env=env)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=20)
        controller.stop()
        for listener in listeners:
            listener.close()
    attempted = int(next(x for x in out.splitlines() if x.startswith("ATTEMPTED")).split()[1])
    assert attempted < 10, f"the mail waited for {attempted} unreachable webhooks"


def test_a_receiver_that_did_not_answer_costs_one_timeout_not_one_per_delivery(
    silent_listener, http_receiver, settings
):
    silent_url, listener = silent_listener
    base, received = http_receiver
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.2
    for i in range(5):
        _queue("webhook", silent_url, f"w-dead-{i}")
    _queue("webhook", base + "/hook", "w-alive")
    assert deliver_due() == ["retry"] * 5 + ["sent"]
    errors = [
        d.last_error for d in Delivery.objects.filter(key__startswith="w-dead").order_by("id")
    ]
    assert "timed out" in errors[0]
    assert all("did not answer a moment ago" in e for e in errors[1:])
    assert [path for path, _, _ in received.requests] == ["/hook"]
    listener.setblocking(False)
    connections = 0
    while True:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            break
        connections += 1
    assert connections == 1
