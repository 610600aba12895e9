"""Outbound webhooks signed per the Standard Webhooks scheme (standardwebhooks.com):
webhook-id, webhook-timestamp and webhook-signature = "v1," + base64(HMAC-SHA256(secret,
"id.timestamp.body")).

Every attempt resolves the host, checks each address (`guard`) and connects to the checked
one; redirects are not followed (a receiver that answers 3xx has moved, and its new address
is for its owner to give, checked like the first); connecting and answering each have
`OUTBOUND_TIMEOUT_SECONDS`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from . import guard
from .base import OutgoingMessage, TransportError

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise TransportError("the webhook secret is not whsec_<base64>", permanent=True) from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def message_id(key: str) -> str:
    return "msg_" + hashlib.sha256(key.encode()).hexdigest()[:32]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks to `host` (Host header, TLS name) at the already checked address `ip`."""

    def __init__(self, host: str, port: int, ip: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self.checked_ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self.checked_ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, **kwargs: Any) -> None:
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self.checked_ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self.checked_ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `url` at a checked address; the HTTP status. Raises TransportError
    (AddressRefused for a refused address) when no answer came."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {url!r}", permanent=True)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TransportError(f"not a valid port in {url!r}", permanent=True) from None
    ip = str(guard.resolve(parts.hostname, port)[0][4][0])
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname, port, ip, timeout=guard.timeout())
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        return response.status
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"cannot reach {parts.hostname}: {exc}", unreachable=True) from exc
    finally:
        connection.close()


class WebhookTransport:
    def send(self, message: OutgoingMessage) -> str:
        if not message.address.startswith(("http://", "https://")):
            raise TransportError(f"not an http(s) URL: {message.address!r}", permanent=True)
        payload = message.payload or {
            "type": "incident.message",
            "data": {
                "incident": message.incident_ref,
                "subject": message.subject,
                "body": message.body_markdown,
            },
        }
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        msg_id = message_id(message.key)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "IncidentDesk-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            **message.headers,
        }
        if message.secret:
            headers["webhook-signature"] = sign(message.secret, msg_id, timestamp, body)
        status = post(message.address, body, headers)
        if status < 300:
            return f"HTTP {status}"
        reason = http.client.responses.get(status, "")
        if 300 <= status < 400:
            raise TransportError(
                f"HTTP {status} {reason}: redirects are not followed", permanent=True
            )
        # a receiver that is overloaded or down retries; one that refuses does not
        retry = status in (408, 425, 429) or status >= 500
        raise TransportError(f"HTTP {status} {reason}", permanent=not retry)
