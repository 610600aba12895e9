"""OpenID Connect providers for the identity tests, started on 127.0.0.1.

`NodeProvider` is a real, certified provider (the `oidc-provider` package run with Node) with
its development sign-in form. `ForgedProvider` is an attacker's provider that answers like a
provider but signs ID tokens with a key it does not publish, or with another nonce.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

HERE = Path(__file__).parent / "oidc-provider"
CLIENT_ID = "incidentdesk"
CLIENT_SECRET = "identity-tests-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_modules() -> None:
    if (HERE / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: the identity tests run a real OpenID Connect provider")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
        check=True,
        capture_output=True,
        timeout=300,
    )


class NodeProvider:
    def __init__(self, redirect_uri: str, people: dict[str, dict[str, Any]], tmp: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        # two providers may run side by side, each with its own people
        self.people_file = tmp / f"people-{self.port}.json"
        self.set_people(people)
        self.redirect_uri = redirect_uri

    def set_people(self, people: dict[str, dict[str, Any]]) -> None:
        self.people_file.write_text(json.dumps(people))

    @contextmanager
    def running(self) -> Iterator[NodeProvider]:
        _node_modules()
        node = shutil.which("node")
        if node is None:
            pytest.fail("Node is missing: the identity tests run a real OpenID Connect provider")
        env = {
            **os.environ,
            "PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": self.redirect_uri,
            "USERS_FILE": str(self.people_file),
        }
        proc = subprocess.Popen(
            [node, str(HERE / "server.mjs")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(
                        f"{self.issuer}/.well-known/openid-configuration", timeout=1
                    ):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        out = proc.stdout.read() if proc.stdout else ""
                        pytest.fail(f"the OpenID Connect provider did not start: {out}")
                    time.sleep(0.1)
            yield self
        finally:
            proc.terminate()
            proc.wait(timeout=10)


class ForgedProvider:
    """A provider that signs in whoever asks, but whose ID tokens must be refused.

    mode "other_key": signed with a key that is not among the published ones;
    mode "wrong_nonce": signed properly, but with a nonce the client never sent;
    mode "honest": a correct token, so that the test knows refusals come from the defect."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.published = RSAKey.generate_key(2048, parameters={"kid": "published"})
        self.hidden = RSAKey.generate_key(2048, parameters={"kid": "published"})
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.codes: dict[str, str] = {}

    def _id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "mallory",
            "email": "mallory@example.com",
            "email_verified": True,
            "groups": ["incident-managers"],
            "iat": now,
            "exp": now + 300,
            "nonce": "not-the-one-sent" if self.mode == "wrong_nonce" else nonce,
        }
        key = self.hidden if self.mode == "other_key" else self.published
        return jwt.encode({"alg": "RS256", "kid": "published"}, claims, key)

    @contextmanager
    def running(self) -> Iterator[ForgedProvider]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/auth",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        }
                    )
                elif url.path == "/jwks":
                    self._json({"keys": [provider.published.as_dict(private=False)]})
                elif url.path == "/auth":
                    code = f"code-{len(provider.codes)}"
                    provider.codes[code] = query.get("nonce", "")
                    target = (
                        query["redirect_uri"]
                        + "?"
                        + urllib.parse.urlencode({"code": code, "state": query["state"]})
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                nonce = provider.codes.pop(form.get("code", ""), None)
                if nonce is None:
                    self.send_response(400)
                    self.end_headers()
                    return
                self._json(
                    {
                        "access_token": "at",
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": provider._id_token(nonce),
                    }
                )

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
