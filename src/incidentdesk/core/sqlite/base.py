"""SQLite whose writers wait their turn.

Every transaction on SQLite starts with BEGIN IMMEDIATE, so only one connection writes at a
time. When it is taken, SQLite's own busy handler makes the others sleep and try again: under
load a writer can lose that race again and again, and a few requests wait a second or more
while others pass. Here each transaction first takes an exclusive `flock` on a file beside
the database, blocking in the kernel's queue, and lets it go at COMMIT or ROLLBACK. Waiting
writers, in every thread, web process and worker, are then served roughly in turn, and
SQLite's busy handler is left for the rare write made outside a transaction.

A transaction left open blocks the others for as long as it stays open, as SQLite's lock
itself would, but without SQLite's time-out: transactions here are short by design.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn_fd: int | None = None
        self._has_turn = False

    def _turn_file(self) -> int | None:
        if self._turn_fd is None and not self.is_in_memory_db():
            path = f"{self.settings_dict['NAME']}-writers.lock"
            self._turn_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._turn_fd

    def _take_turn(self) -> None:
        fd = self._turn_file()
        if fd is not None and not self._has_turn:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._has_turn = True

    def _end_turn(self) -> None:
        if self._has_turn and self._turn_fd is not None:
            self._has_turn = False
            fcntl.flock(self._turn_fd, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self) -> None:
        self._take_turn()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._end_turn()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._end_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._end_turn()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._end_turn()
            if self._turn_fd is not None:
                os.close(self._turn_fd)
                self._turn_fd = None
