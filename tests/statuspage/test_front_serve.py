"""`incidentdesk serve` answers the public outputs from the prepared front, and an update
published through the API is served as soon as its request has returned."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
import urllib.request

import brotli
import pytest

from ..cli.helpers import INCIDENTDESK, env_for, run, shell, sqlite_only
from ..cli.test_cli import Api, free_port, wait_until_up

pytestmark = sqlite_only


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("front-serve")
    run(data, "init")
    token = shell(
        data,
        "from incidentdesk.accounts.services import user_create, token_create\n"
        "m = user_create(by=None, email='m@front.test', password='front-password-1',"
        " role='manager')\n"
        "print(token_create(by=None, user=m)[0])\n",
    ).split()[-1]
    # a front left from an older release is prepared anew at start
    (data / "public" / "manifest.json").unlink()
    port = free_port()
    process = subprocess.Popen(
        [str(INCIDENTDESK), "serve", "--port", str(port), "--no-worker", "--workers", "1"],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base, token, data
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_prepares_the_front_and_answers_from_it(server):
    base, _, data = server
    assert (data / "public" / "manifest.json").is_file()
    status, headers, body = fetch(base + "/status/?utm_source=mail", Accept_Encoding="br")
    assert status == 200
    assert headers["content-encoding"] == "br"
    page = brotli.decompress(body)
    assert page == (data / "public" / "status" / "index.html").read_bytes()
    assert headers["etag"].endswith('-br"')
    assert fetch(base + "/status/", If_None_Match=headers["etag"])[0] == 304
    status, headers, body = fetch(base + "/api/v2/status.json", Accept_Encoding="gzip")
    assert status == 200
    assert json.loads(gzip.decompress(body) if headers.get("content-encoding") else body)["status"][
        "indicator"
    ] == ("none")


def test_a_published_update_is_served_when_its_request_returns(server):
    base, token, _ = server
    api = Api(base)
    status, body = api("POST", "/api/v1/incidents", token, {"title": "Checkout fails"})
    assert status == 201, body
    ref = body["ref"]
    change = {"type": "functionality", "severity": "P2", "impact": "some"}
    assert api("POST", f"/api/v1/incidents/{ref}/categorize", token, change)[0] == 200
    assert api("POST", f"/api/v1/incidents/{ref}/publish", token, {})[0] == 201
    status, body = api(
        "POST",
        f"/api/v1/incidents/{ref}/updates",
        token,
        {"status": "identified", "body": "A payment provider times out."},
    )
    assert status == 201, body
    committed = time.monotonic()
    seen = {}
    while time.monotonic() - committed < 1.0 and len(seen) < 2:
        for path in ("/status/", "/api/v2/incidents/unresolved.json"):
            if b"A payment provider times out." in fetch(base + path)[2]:
                seen[path] = time.monotonic() - committed
    assert set(seen) == {"/status/", "/api/v2/incidents/unresolved.json"}, seen
    unresolved = json.loads(fetch(base + "/api/v2/incidents/unresolved.json")[2])
    assert [i["name"] for i in unresolved["incidents"]] == ["Checkout fails"]
