"""`incidentdesk serve` takes PagerDuty events before Django's middleware (ingest/front.py):
every event answered 202 is stored and counted on its alert, even when many arrive at once in
several web processes; an invalid one gets PagerDuty's 400 and writes nothing; a key revoked
at the command line is refused at once by every process."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from ..cli.helpers import INCIDENTDESK, env_for, run, shell, sqlite_only
from ..cli.test_cli import free_port, wait_until_up

pytestmark = sqlite_only


def post(base: str, body: bytes, **headers: str) -> tuple[int, dict[str, str], dict]:
    request = urllib.request.Request(
        base + "/v2/enqueue",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            found = response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        found = error.code, dict(error.headers.items()), error.read()
    return found[0], {k.lower(): v for k, v in found[1].items()}, json.loads(found[2])


def trigger(key: str, dedup: str) -> bytes:
    return json.dumps(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {"summary": f"{dedup} failing", "source": "web-1", "severity": "error"},
        }
    ).encode()


def counted(data) -> tuple[int, int]:
    out = shell(
        data,
        "from incidentdesk.ingest.models import Alert\n"
        "print(sum(a.count for a in Alert.objects.all()), Alert.objects.count())",
    )
    total, alerts = out.split()[-2:]
    return int(total), int(alerts)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("ingest-front")
    run(data, "init")
    key = run(data, "integration", "create", "Monitoring").stdout.strip().splitlines()[-1]
    port = free_port()
    process = subprocess.Popen(
        [
            str(INCIDENTDESK),
            *("serve", "--port", str(port), "--no-worker"),
            *("--processes", "2", "--threads", "4"),
        ],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base, key, data
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_events_sent_at_once_are_each_answered_and_counted(server):
    base, key, data = server
    statuses: list[int] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        for i in range(30):
            status, headers, answer = post(base, trigger(key, f"check-{(worker + i) % 5}"))
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-request-id"]
            assert answer["status"] == "success" and answer["message"] == "Event processed"
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 180
    assert counted(data) == (180, 5)


def test_an_invalid_event_gets_pagerdutys_400_and_writes_nothing(server):
    base, key, data = server
    before = counted(data)
    status, _, answer = post(base, json.dumps({"routing_key": key, "event_action": "x"}).encode())
    assert status == 400
    assert answer == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'event_action' must be one of trigger, acknowledge, resolve"],
    }
    assert post(base, b"{not json")[2]["errors"] == ["Event body is not valid JSON"]
    too_large = trigger(key, "big").replace(b'"web-1"', b'"' + b"x" * 3_000_000 + b'"')
    assert post(base, too_large)[2]["errors"] == ["Event is too large"]
    assert counted(data) == before


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v2/enqueue", 400, ("errors", ["Event is too large"])),  # the alert intake's front
        ("/api/v1/incidents", 413, ("detail", "The request body is larger than")),  # Django's
    ],
)
def test_a_sender_still_sending_a_body_too_large_reads_its_answer(server, path, status, error):
    # the refusal is decided from Content-Length; a sender whose last bytes arrive after that
    # must still read it, not find the connection closed under it (a broken pipe)
    base, key, _ = server
    host, port = base.removeprefix("http://").split(":")
    body = trigger(key, "big").replace(b'"web-1"', b'"' + b"x" * 3_000_000 + b'"')
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:1000]
        )
        time.sleep(0.5)  # the server has answered by now; the rest is still to come
        sock.sendall(body[1000:])
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == status
        payload = response.read()
    field, expected = error
    found = json.loads(payload)[field]
    assert found == expected if isinstance(expected, list) else found.startswith(expected)


def test_a_revoked_key_is_refused_at_once_by_every_process(server):
    base, key, data = server
    # both processes have the key in their cache by now
    for i in range(8):
        assert post(base, trigger(key, f"before-{i}"))[0] == 202
    before = counted(data)
    run(data, "integration", "revoke", "Monitoring")
    for i in range(8):
        status, _, answer = post(base, trigger(key, f"after-{i}"))
        assert status == 400
        assert answer["errors"] == ["'routing_key' is not the key of an active integration"]
    assert counted(data) == before
