"""The one source of "now". Tests and the demo loader set it; everything else reads it."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

from django.utils import timezone

_state = threading.local()


def now() -> dt.datetime:
    frozen: dt.datetime | None = getattr(_state, "frozen", None)
    return frozen if frozen is not None else timezone.now()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[Clock]:
    """Freeze "now" at `at` for this thread; `advance()` moves it on."""
    if timezone.is_naive(at):
        raise ValueError("the clock needs an aware datetime")
    previous = getattr(_state, "frozen", None)
    _state.frozen = at
    try:
        yield Clock()
    finally:
        _state.frozen = previous


class Clock:
    """Handle on a frozen clock."""

    def advance(self, **delta: float) -> dt.datetime:
        _state.frozen = _state.frozen + dt.timedelta(**delta)
        return _state.frozen

    def set(self, at: dt.datetime) -> dt.datetime:
        _state.frozen = at
        return at
