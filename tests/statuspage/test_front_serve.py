"""`incidentdesk serve` answers the public outputs from the prepared front, and an update
published through the API is served once its web process's renderer has prepared it: the
request does not wait for the render, and a burst of updates ends with the newest."""

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


def served(base: str, path: str, text: str) -> bytes:
    """Poll `path` until it shows `text` (the renderer prepares the front after the change's
    request has returned); a front that never shows it fails the test, after a minute."""
    deadline = time.monotonic() + 60
    while True:
        body = fetch(base + path, Accept_Encoding="identity")[2]
        if text.encode() in body:
            return body
        assert time.monotonic() < deadline, f"{path} never showed {text!r}"
        time.sleep(0.02)


def prepared_files(data) -> bytes:
    files = (data / "public").rglob("*")
    return b"".join(p.read_bytes() for p in files if p.is_file() and p.suffix not in (".br", ".gz"))


def test_a_published_update_is_served_after_its_request_returns(server):
    base, token, data = server
    api = Api(base)
    status, body = api("POST", "/api/v1/incidents", token, {"title": "Checkout fails"})
    assert status == 201, body
    ref = body["ref"]
    change = {"type": "functionality", "severity": "P2", "impact": "some"}
    assert api("POST", f"/api/v1/incidents/{ref}/categorize", token, change)[0] == 200
    assert api("POST", f"/api/v1/incidents/{ref}/publish", token, {})[0] == 201
    note = {"body": "Internal: the payment provider's key leaked in a log."}
    assert api("POST", f"/api/v1/incidents/{ref}/note", token, note)[0] == 201
    status, body = api(
        "POST",
        f"/api/v1/incidents/{ref}/updates",
        token,
        {"status": "identified", "body": "A payment provider times out."},
    )
    assert status == 201, body
    served(base, "/status/", "A payment provider times out.")
    unresolved = json.loads(
        served(base, "/api/v2/incidents/unresolved.json", "A payment provider times out.")
    )
    assert [i["name"] for i in unresolved["incidents"]] == ["Checkout fails"]
    # the front is prepared from the public view only: the team's note is in no file
    assert b"key leaked" not in prepared_files(data)
    assert b"key leaked" not in fetch(base + "/status/")[2]


def test_updates_in_quick_succession_end_with_the_newest_served(server):
    base, token, _ = server
    api = Api(base)
    status, body = api("POST", "/api/v1/incidents", token, {"title": "Search is slow"})
    assert status == 201, body
    ref = body["ref"]
    change = {"type": "performance", "severity": "P2", "impact": "some"}
    assert api("POST", f"/api/v1/incidents/{ref}/categorize", token, change)[0] == 200
    assert api("POST", f"/api/v1/incidents/{ref}/publish", token, {})[0] == 201
    texts = [f"Search update number {n}." for n in range(5)]
    for n, text in enumerate(texts):
        status_name = "identified" if n % 2 else "monitoring"
        update = {"status": status_name, "body": text}
        assert api("POST", f"/api/v1/incidents/{ref}/updates", token, update)[0] == 201
    summary = json.loads(served(base, "/api/v2/summary.json", texts[-1]))
    incident = next(i for i in summary["incidents"] if i["name"] == "Search is slow")
    assert incident["incident_updates"][0]["body"] == texts[-1]
    assert incident["status"] == "monitoring"
    # what is served now stays: no older render lands after the newest
    time.sleep(1)
    assert texts[-1].encode() in fetch(base + "/api/v2/summary.json")[2]
    page = served(base, "/status/", texts[-1])
    assert texts[-1].encode() in page
