"""Channels behind one small interface: `Transport.send(message)` returns a short note on
success and raises `TransportError(permanent=...)` on failure."""

from __future__ import annotations

from .apprise import AppriseTransport
from .base import OutgoingMessage, Transport, TransportError
from .email import EmailTransport
from .webhook import WebhookTransport


def transport_for(channel: str) -> Transport:
    transports: dict[str, type[Transport]] = {
        "email": EmailTransport,
        "webhook": WebhookTransport,
        "apprise": AppriseTransport,
    }
    return transports[channel]()


__all__ = ["OutgoingMessage", "Transport", "TransportError", "transport_for"]
