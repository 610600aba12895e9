"""Processes started by `incidentdesk serve` end with it.

`serve` puts its own process id in INCIDENTDESK_PARENT_PID for the web processes and the task
worker it starts. Each of them watches its parent: when the parent is gone (killed with -9, so
it could not stop them), the child stops too, instead of living on under init, still bound to
the port and running old code after an upgrade.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

CHECK_SECONDS = 0.5


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(120)  # a graceful stop that hangs still ends
    os._exit(1)


def follow_parent(on_orphaned: Callable[[], None] = _terminate_self) -> bool:
    """Watch the parent named by INCIDENTDESK_PARENT_PID; True when watching."""
    expected = os.environ.get("INCIDENTDESK_PARENT_PID", "")
    if not expected.isdigit():
        return False

    def watch() -> None:
        # a parent that died while this process was still starting counts as well
        while os.getppid() == int(expected):
            time.sleep(CHECK_SECONDS)
        on_orphaned()

    threading.Thread(target=watch, daemon=True, name="lifeline").start()
    return True
