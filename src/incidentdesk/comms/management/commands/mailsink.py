from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Sink:
    """Accepts every message, keeps it as an .eml file and prints a one-line summary."""

    def __init__(self, folder: Path, write: Any) -> None:
        self.folder = folder
        self.write = write
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.count += 1
            n = self.count
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{n:06d}.eml"
        (self.folder / name).write_bytes(envelope.content)
        to = ", ".join(envelope.rcpt_tos)
        self.write(f"#{n} to {to}: {mail['Subject']}  ({name})")
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = "Run a local SMTP server that keeps every message it receives (for the demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--dir", default=None, help="where to keep messages (.eml)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"] or settings.MAILSINK_DIR)
        folder.mkdir(parents=True, exist_ok=True)

        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        controller = Controller(Sink(folder, write), hostname=options["host"], port=options["port"])
        controller.start()
        write(
            f"Mail sink on smtp://{options['host']}:{options['port']}, keeping messages in "
            f"{folder}. Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
