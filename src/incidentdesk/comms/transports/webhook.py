"""Outbound webhooks signed per the Standard Webhooks scheme (standardwebhooks.com):
webhook-id, webhook-timestamp and webhook-signature = "v1," + base64(HMAC-SHA256(secret,
"id.timestamp.body"))."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

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


class WebhookTransport:
    timeout = 15

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
        request = urllib.request.Request(message.address, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            # a receiver that is overloaded or down retries; one that refuses does not
            retry = exc.code in (408, 425, 429) or exc.code >= 500
            raise TransportError(f"HTTP {exc.code} {exc.reason}", permanent=not retry) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"cannot reach {message.address}: {reason}") from exc
