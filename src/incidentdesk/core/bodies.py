"""Reading the rest of a request body that is refused for its size.

A request over the size limit is refused from its Content-Length, before its body is read.
A sender still sending that body then finds the connection closed under it (a broken pipe, a
reset) and never reads the answer that says why. So the rest is read and thrown away first,
up to DRAIN_MAX; past that, the sender is not worth the wait and the connection just ends."""

from __future__ import annotations

from typing import Any

DRAIN_MAX = 64 * 1024 * 1024
CHUNK = 256 * 1024


def drain(stream: Any, length: int) -> None:
    """Read and discard up to `length` bytes (at most DRAIN_MAX) of `stream`."""
    left = min(length, DRAIN_MAX)
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
