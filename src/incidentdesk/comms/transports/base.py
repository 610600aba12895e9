from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class TransportError(Exception):
    """A failed send. `permanent` failures are not retried (a refused address, a 4xx reply,
    a malformed URL); the others are retried with backoff. `unreachable`: the receiver did
    not answer at all (no connection, or no reply in time)."""

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


@dataclass(frozen=True)
class OutgoingMessage:
    key: str
    address: str
    subject: str
    body_markdown: str
    incident_ref: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    secret: str = ""
    unsubscribe_url: str | None = None


class Transport(Protocol):
    def send(self, message: OutgoingMessage) -> str: ...
