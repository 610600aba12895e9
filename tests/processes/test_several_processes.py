"""Several real processes on one database, as a team runs IncidentDesk once it outgrows one
machine: `incidentdesk worker` processes sharing a fan-out, two web servers editing the same
incident, and web processes and workers killed with -9 under load. Real SMTP server, real
HTTP; on the suite's engine, in a fresh database of their own on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from incidentdesk.comms.services import TASK_BATCH
from tests.core.test_faults import ON_POSTGRES, Product, database_url  # noqa: F401  (a fixture)

from .support import (
    POST_UPDATE_SCRIPT,
    api,
    children,
    organisation_script,
    smtp_server,
    start_serve,
    start_worker,
    stop_serve,
    stop_worker,
    wait_for,
)

WORKERS_SCRIPT = """
from django_tasks_db.models import DBTaskResult
runs = DBTaskResult.objects.filter(task_path="incidentdesk.comms.tasks.deliver_many")
pids = set()
for ids in runs.values_list("worker_ids", flat=True):
    pids.update(worker_id.split("-")[-2] for worker_id in ids)
print("PIDS", " ".join(sorted(pids)))

from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident

incident = Incident.objects.get(pk=1)
told = incident.timeline.filter(kind="delivered", data__recipient__endswith="@stores.test")
print("RECORDED", told.count(), len(set(told.values_list("data__delivery", flat=True))))
print("CHAIN", "intact" if timeline.verify(incident) is None else "broken")
"""


def _people(product: Product) -> dict[str, str]:
    """A manager, a member and a stakeholder; their API tokens by role."""
    tokens = {}
    for role, email in [
        ("manager", "manager@spacewise.test"),
        ("member", "member@spacewise.test"),
        ("stakeholder", "ops@northwind.test"),
    ]:
        org = ["--org", "Northwind"] if role == "stakeholder" else []
        product.cli(
            "createuser", "--email", email, "--password", "procs-pass-1", "--role", role, *org
        )
        tokens[role] = product.cli("token", "create", "--email", email).split()[-1]
    return tokens


def test_two_workers_share_a_fan_out_to_2000_and_send_and_record_each_mail_once(
    tmp_path,
    database_url,  # noqa: F811
):
    contacts = 2000
    with smtp_server(delay=0.002) as (inbox, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        product.cli("manage", "shell", "-c", organisation_script(contacts))
        product.cli("manage", "shell", "-c", POST_UPDATE_SCRIPT)
        workers = [start_worker(product.env) for _ in range(2)]
        try:
            assert wait_for(lambda: inbox.count("@stores.test")[0] >= contacts, timeout=300), (
                f"only {inbox.count('@stores.test')[0]} of {contacts} stakeholders were told"
            )
            time.sleep(1)  # a mail sent twice would arrive about now
        finally:
            for worker in workers:
                stop_worker(worker)
        ran = product.cli("manage", "shell", "-c", WORKERS_SCRIPT)

    assert inbox.count("@stores.test") == (contacts, contacts), inbox.repeats()
    said = {line.split()[0]: line.split()[1:] for line in ran.splitlines() if line[:1].isupper()}
    assert {str(w.pid) for w in workers} <= set(said["PIDS"]), f"not both workers sent: {said}"
    # each mail recorded once on the incident's timeline, whose chain both workers extended
    assert said["RECORDED"] == [str(contacts), str(contacts)]
    assert said["CHAIN"] == ["intact"]


def test_two_web_servers_editing_one_incident_refuse_the_stale_edit_with_409(
    tmp_path,
    database_url,  # noqa: F811
):
    rounds = 12
    with smtp_server() as (_, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        tokens = _people(product)
        servers = [start_serve(product.env, "--no-worker") for _ in range(2)]
        try:
            (_, one), (_, two) = servers
            status, incident = api(one, "POST", "/api/v1/incidents", tokens["stakeholder"],
                                   {"title": "Checkout fails for every customer"})  # fmt: skip
            assert status == 201
            path = f"/api/v1/incidents/{incident['ref']}"
            outcomes = []
            for i in range(rounds):
                version = api(two, "GET", path, tokens["member"])[1]["version"]
                answers = _at_once(
                    partial(_note, one, path, tokens["member"], f"Round {i}: logs read", version),
                    partial(_note, two, path, tokens["manager"], f"Round {i}: told", version),
                )
                outcomes.append(sorted(answers))
            timeline = api(one, "GET", path + "/timeline", tokens["member"])[1]
        finally:
            for server, _ in servers:
                stop_serve(server)

    assert outcomes == [[201, 409]] * rounds
    items = timeline["items"] if isinstance(timeline, dict) and "items" in timeline else timeline
    notes = [e for e in items if e["kind"] == "note"]
    assert len(notes) == rounds, "a refused edit left a note behind, or an accepted one is gone"


def _note(base: str, path: str, token: str, text: str, version: int) -> int:
    return api(base, "POST", path + "/note", token, {"body": text, "version": version})[0]


def _at_once(*calls: Callable[[], int]) -> list[int]:
    """Run the calls in threads released together; their results."""
    results: list[int] = []
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], int]) -> None:
        start.wait()
        results.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _web_processes(server: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, cmd in children(server.pid) if "incidentdesk.cli worker" not in cmd]


def _task_worker(server: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, cmd in children(server.pid) if "incidentdesk.cli worker" in cmd]


@pytest.mark.skipif(not ON_POSTGRES, reason="several web processes and workers: PostgreSQL")
def test_kill_9_of_a_web_process_and_of_a_worker_under_load_loses_nothing(
    tmp_path,
    database_url,  # noqa: F811
):
    manager = "manager@spacewise.test"
    with smtp_server(delay=0.002) as (inbox, port):
        product = Product(tmp_path, database_url, port)
        product.cli("init")
        tokens = _people(product)
        server, base = start_serve(product.env, "--processes", "2")
        helper = start_worker(product.env)  # a second worker, stand-alone
        acknowledged: list[str] = []
        stop = threading.Event()

        def write(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                status, body = api(base, "POST", "/api/v1/incidents", tokens["stakeholder"],
                                   {"title": f"Writer {n}, report {i}"})  # fmt: skip
                if status == 201:
                    acknowledged.append(body["ref"])
                elif status == 0:
                    time.sleep(0.05)  # the process that had the connection was killed

        writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in writers:
            thread.start()
        kills = 0
        try:
            for _ in range(3):
                # granian takes a process killed again within 5.5 s of its start for a
                # crash loop and stops: a kill every few seconds is not what is tested
                time.sleep(6)
                web = _web_processes(server)
                assert web, "serve has no web process"
                os.kill(web[0], signal.SIGKILL)
                time.sleep(2)
                worker = _task_worker(server)
                assert worker, "serve has no task worker"
                os.kill(worker[0], signal.SIGKILL)
                kills += 1
                assert wait_for(lambda: server.poll() is None and len(_web_processes(server)) >= 2
                                and _task_worker(server), timeout=60), (
                    "serve did not replace its killed processes"
                )  # fmt: skip
            time.sleep(3)
            stop.set()
            for thread in writers:
                thread.join(timeout=60)
            assert acknowledged, "no write was acknowledged"
            expected = {(ref, manager) for ref in acknowledged}
            assert wait_for(lambda: expected <= set(inbox.per_incident), timeout=300), (
                f"{len(expected - set(inbox.per_incident))} notices of acknowledged reports "
                "never arrived"
            )
            missing = [
                ref for ref in acknowledged
                if api(base, "GET", f"/api/v1/incidents/{ref}", tokens["manager"])[0] != 200
            ]  # fmt: skip
        finally:
            stop.set()
            stop_worker(helper)
            stop_serve(server)

    assert server.poll() is not None
    assert missing == [], f"acknowledged reports lost: {missing}"
    repeats = sum(n - 1 for (ref, rcpt), n in inbox.per_incident.items() if n > 1)
    # at least once: a killed worker may send again at most the batch it was sending
    assert repeats <= kills * TASK_BATCH, f"{repeats} notices repeated after {kills} kills"
