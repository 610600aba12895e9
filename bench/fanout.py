"""One public update to 10,000 stakeholders, end to end through `incidentdesk worker`
processes and a local aiosmtpd server, against a plain smtplib loop sending the same number
of messages to the same server in the same run.

End to end means: from posting the update (which queues one delivery per contact in its
transaction) until the SMTP server has received the last message; each delivery also writes
its timeline entry. Run: .venv/bin/python bench/fanout.py [N] [WORKERS]

With `--pg URL` (or `--pg` and INCIDENTDESK_TEST_DATABASE_URL), the scale-out variant in
bench/fanout_scale.py instead: `bench/fanout.py --pg URL [--quick] [--mail-delay MS] [N]`
(`--mail-delay`: the SMTP server takes MS milliseconds to accept each message, as a relay on
another machine does).
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage

# bench/queue.py is named like the standard library's `queue`: keep this folder off the path
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

if "--pg" in sys.argv:
    # the scale-out variant: PostgreSQL, two web processes, one worker against two
    import importlib.util

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fanout_scale.py")
    spec = importlib.util.spec_from_file_location("fanout_scale", here)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scale_out = module.main

    args = [a for a in sys.argv[1:] if a not in ("--pg", "--quick")]
    delay = 0.0
    if "--mail-delay" in args:
        at = args.index("--mail-delay")
        delay = float(args[at + 1]) / 1000
        del args[at : at + 2]
    url = args.pop(0) if args and "://" in args[0] else os.environ["INCIDENTDESK_TEST_DATABASE_URL"]
    n = int(args[0]) if args else (400 if "--quick" in sys.argv else 10_000)
    scale_out(url, n, delay)
    raise SystemExit(0)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = free_port()
DATA_DIR = tempfile.mkdtemp(prefix="bench-fanout-")
os.environ.update(
    INCIDENTDESK_DATA_DIR=DATA_DIR,
    INCIDENTDESK_EMAIL_URL=f"smtp://127.0.0.1:{PORT}",
    INCIDENTDESK_SECRET_KEY="bench-fanout-secret-key-bench-fanout-secret-key",
    DJANGO_SETTINGS_MODULE="incidentdesk.settings",
)

import django  # noqa: E402

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from incidentdesk.accounts.models import Role, StakeholderOrg, User  # noqa: E402
from incidentdesk.accounts.services import user_create  # noqa: E402
from incidentdesk.comms.models import Delivery  # noqa: E402
from incidentdesk.core.markdown import render_markdown  # noqa: E402
from incidentdesk.incidents import services as s  # noqa: E402
from incidentdesk.policy.services import policy_sync_from_file  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.count += 1
        return "250 OK"


def wait_for(counter: Counter, target: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while counter.count < target:
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {counter.count} of {target} messages arrived")
        time.sleep(0.02)
    return time.perf_counter()


def setup() -> tuple[User, object]:
    call_command("migrate", verbosity=0)
    policy_sync_from_file()
    org = StakeholderOrg.objects.create(name="Everyone Retail")
    reporter = user_create(
        by=None, email="reporter@retail.test", password="bench-pass-123", role="stakeholder",
        org_name=org.name,
    )  # fmt: skip
    member = user_create(
        by=None, email="member@spacewise.test", password="bench-pass-123", role="member"
    )
    contacts = [
        User(email=f"contact{i}@retail.test", role=Role.STAKEHOLDER, organisation=org)
        for i in range(N - 1)
    ]
    for user in contacts:
        user.set_unusable_password()
    User.objects.bulk_create(contacts, batch_size=1000)
    incident = s.incident_report(by=reporter, title="Tills cannot sync in every store")
    s.incident_categorize(
        by=member, incident=incident, type="functionality", severity="P3", impact="few",
        reason="benchmark: no categorization notice",
    )  # fmt: skip
    return member, incident


def run_workers(count: int) -> list[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "incidentdesk.cli", "worker", "--interval", "0.05"]
    return [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(count)]


def plain_loop(counter: Counter) -> float:
    """The baseline: one connection, the same multipart messages, no database."""
    body = "We have identified the cause and are restoring sync.\n"
    html = str(render_markdown(body))
    start = time.perf_counter()
    before = counter.count
    with smtplib.SMTP("127.0.0.1", PORT) as smtp:
        for i in range(N):
            mail = EmailMessage()
            mail["Subject"] = "[INC-1] Identified: Tills cannot sync in every store"
            mail["From"] = "incidents@spacewise.test"
            mail["To"] = f"contact{i}@retail.test"
            mail.set_content(body)
            mail.add_alternative(html, "html")
            smtp.send_message(mail)
    wait_for(counter, before + N, 60)
    return time.perf_counter() - start


def main() -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=PORT)
    controller.start()
    member, incident = setup()
    # deliveries queued while setting up (the reporter's acknowledgement) go out first
    warmup = run_workers(1)
    wait_for(counter, Delivery.objects.count(), 120)
    for w in warmup:
        w.terminate()
        w.wait()
    connection.close()
    already = counter.count

    start = time.perf_counter()
    with transaction.atomic():
        s.incident_post_update(
            by=member, incident=incident.ref, status="identified",
            body="We have identified the cause and are restoring sync.",
        )  # fmt: skip
    queued_at = time.perf_counter()
    queued = Delivery.objects.filter(trigger="public_update").count()
    workers = run_workers(WORKERS)
    try:
        end = wait_for(counter, already + queued, 3600)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
    recorded = incident.timeline.filter(kind="delivered", data__trigger="public_update").count()
    end_to_end = end - start

    loop = plain_loop(counter)
    controller.stop()

    rate, loop_rate = queued / end_to_end, N / loop
    print(f"recipients: {queued} (SQLite, {WORKERS} worker process(es))")
    print(f"queueing the update and its {queued} deliveries: {queued_at - start:.1f} s")
    print(f"end to end: {end_to_end:.1f} s, {rate:.0f} deliveries/s ({recorded} timeline entries)")
    print(f"plain smtplib loop: {loop:.1f} s, {loop_rate:.0f} messages/s")
    print(f"ratio (IncidentDesk / plain loop): {rate / loop_rate:.3f}")


if __name__ == "__main__":
    main()
