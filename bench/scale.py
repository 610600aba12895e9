"""What pages, polls, the API and the periodic checks cost with years of history, on PostgreSQL.

Loads SMALL generated incidents (`incidentdesk demo --scale`'s generator: timelines,
deliveries, reviews, status page history) into a database of its own, plus one incident whose
update went to LONG subscribers (LONG "delivered" entries) and one with about ten entries;
times each path; grows the same database to LARGE incidents and times them again; prints p50
and p99 of each with the ratio LARGE/SMALL, and the long incident's page against the short
one's.

Run: .venv/bin/python bench/scale.py [SMALL LARGE] [--long N] [--repeat R] [--keep]
[--large-database NAME] (defaults 1000 1000000, --long 10000, --repeat 21). `--quick` is 200
2000 with --long 1000 and --repeat 5, for the test suite. It needs PostgreSQL:
INCIDENTDESK_DATABASE_URL names the server (default
postgresql://postgres@127.0.0.1:5432/postgres); the bench creates and drops its own database
there (`--keep` keeps it). `--large-database NAME` measures the large size in a second process
on an existing database instead (generated beforehand, e.g. with `incidentdesk demo --scale`,
and grown to LARGE if it has fewer): the small size is still measured in a fresh one, in the
same run. That database is kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable

# bench/queue.py is named like the standard library's `queue`: keep this folder off the path
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("sizes", nargs="*", type=int, help="SMALL LARGE")
parser.add_argument("--long", type=int, default=10_000, help="entries of the long timeline")
parser.add_argument("--repeat", type=int, default=21)
parser.add_argument("--quick", action="store_true", help="200 vs 2000, for the test suite")
parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
parser.add_argument("--large-database", help="measure the large size on this existing database")
parser.add_argument("--database", help=argparse.SUPPRESS)  # the large half's own process
ARGS = parser.parse_args()
if ARGS.quick:
    SMALL, LARGE, LONG, REPEAT = 200, 2_000, 1_000, 5
else:
    SMALL, LARGE = (ARGS.sizes + [1_000, 1_000_000][len(ARGS.sizes) :])[:2]
    LONG, REPEAT = ARGS.long, ARGS.repeat

server = urllib.parse.urlsplit(
    os.environ.get("INCIDENTDESK_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)
if not server.scheme.startswith("postgres"):
    raise SystemExit("bench/scale.py measures PostgreSQL: set INCIDENTDESK_DATABASE_URL to one")
# named after the URL's database when it names one ("NAME_1a2b3c4d"), so a shared server's
# naming rules hold; the URL's own database is never touched
PREFIX = server.path.strip("/") if server.path.strip("/") not in ("", "postgres") else "bench_scale"
DB_NAME = ARGS.database or f"{PREFIX}_{uuid.uuid4().hex[:8]}"
ADMIN_URL = server._replace(path="/postgres").geturl()
os.environ.update(
    INCIDENTDESK_DATABASE_URL=server._replace(path=f"/{DB_NAME}").geturl(),
    INCIDENTDESK_DATA_DIR=tempfile.mkdtemp(prefix="bench-scale-"),
    INCIDENTDESK_SECRET_KEY="bench-scale-secret-key-bench-scale-secret-key",
    DJANGO_SETTINGS_MODULE="incidentdesk.settings",
)

import psycopg  # noqa: E402

if not ARGS.database:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {DB_NAME}")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from incidentdesk.accounts.models import User  # noqa: E402
from incidentdesk.accounts.services import token_create  # noqa: E402
from incidentdesk.demo import scale  # noqa: E402
from incidentdesk.incidents import services as s  # noqa: E402
from incidentdesk.incidents.models import Incident  # noqa: E402
from incidentdesk.policy.services import policy_sync_from_file  # noqa: E402
from incidentdesk.reviews.services import action_item_reminders, review_due_check  # noqa: E402
from incidentdesk.statuspage.services.maintenance import maintenance_tick  # noqa: E402

Timer = Callable[[], object]


def percentiles(fn: Timer, repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm: the first call pays for imports and the status page's cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99


def get(client: Client, path: str, **headers: str) -> Timer:
    def call() -> None:
        response = client.get(path, **headers)
        assert response.status_code in (200, 204), (path, response.status_code)

    return call


def incidents_of_size() -> tuple[Incident, Incident]:
    """The long incident (LONG deliveries of one update) and a short one (about ten entries),
    reported and worked through the services."""
    people = {u.email: u for u in User.objects.all()}
    member, reporter = people["alex@spacewise.example"], people["ops@northwind.example"]
    made = []
    for title in ("Store tills cannot sync sales", "Receipt printer shows an error"):
        incident = s.incident_report(by=reporter, title=title, description=title + ".")
        s.incident_acknowledge(by=member, incident=incident)
        s.incident_categorize(
            by=member,
            incident=incident,
            type="functionality",
            severity="P2",
            impact="some",
            reason="Confirmed by phone with the stores.",
        )
        s.incident_set_status(by=member, incident=incident, status="investigating")
        s.incident_add_note(by=member, incident=incident, body="Looking at the sync queue.")
        s.incident_post_update(
            by=member, incident=incident, status="investigating", body="We are on it."
        )
        made.append(Incident.objects.get(pk=incident.pk))
    scale.fan_out(made[0], LONG)
    return Incident.objects.get(pk=made[0].pk), Incident.objects.get(pk=made[1].pk)


def measure(long: Incident, short: Incident) -> dict[str, tuple[float, float]]:
    team = Client()
    team.force_login(User.objects.get(email="alex@spacewise.example"))
    token = token_create(by=None, user=User.objects.get(email="alex@spacewise.example"))[0]
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    manager = Client()
    manager.force_login(User.objects.get(email="manager@spacewise.example"))
    public = Client()
    poll = f"/incidents/{long.ref}/live?v={long.version}&s={long.timeline_seq - 1}"
    paths: dict[str, Timer] = {
        "queue, first page": get(team, "/"),
        f"incident page, {long.timeline_seq:,} entries": get(team, f"/incidents/{long.ref}"),
        f"incident page, {short.timeline_seq} entries": get(team, f"/incidents/{short.ref}"),
        "its live poll, one entry new": get(team, poll),
        "GET /api/v1/incidents": get(team, "/api/v1/incidents", **api),
        "API timeline, first page": get(team, f"/api/v1/incidents/{long.ref}/timeline", **api),
        "search (queue)": get(team, "/?q=printer"),
        "insights": get(manager, "/insights/"),
        "/status/": get(public, "/status/"),
        "periodic: SLA and update cadence": s.incident_sla_check,
        "periodic: review due": review_due_check,
        "periodic: action item reminders": action_item_reminders,
        "periodic: maintenance steps": maintenance_tick,
    }
    return {name: percentiles(fn) for name, fn in paths.items()}


def grow(total: int) -> None:
    have = Incident.objects.count()
    missing = total - have
    if missing > 0:
        started = time.perf_counter()
        made = scale.generate(missing, stream=sys.stderr)
        print(
            f"(added {made.incidents:,} incidents, {made.entries:,} timeline entries and "
            f"{made.deliveries:,} deliveries in {time.perf_counter() - started:,.0f} s)",
            file=sys.stderr if ARGS.database else sys.stdout,
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def others_writing() -> bool:
    """Another session busy on this database (a `demo --scale` still generating into it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state NOT IN ('idle')"
        )
        return bool(cursor.fetchone()[0])


def measure_at(total: int) -> tuple[dict[str, tuple[float, float]], int]:
    """This database grown to `total` incidents, with the long and the short incident added,
    measured: the figures and the number of incidents. A generation still running into it
    (--large-database) is waited for first."""
    while ARGS.database and Incident.objects.count() < total and others_writing():
        print(f"(waiting for the generation into {DB_NAME} to finish)", file=sys.stderr)
        time.sleep(15)
    call_command("migrate", verbosity=0)
    policy_sync_from_file()
    scale.gather_cast()
    grow(total)
    long, short = incidents_of_size()
    return measure(long, short), Incident.objects.count()


def large_elsewhere() -> tuple[dict[str, tuple[float, float]], int]:
    """The large size measured by this script in a process of its own, on --large-database."""
    args = [sys.executable, os.path.abspath(__file__), str(SMALL), str(LARGE)]
    args += ["--database", ARGS.large_database, "--long", str(LONG), "--repeat", str(REPEAT)]
    env = {**os.environ, "INCIDENTDESK_DATABASE_URL": server.geturl()}
    done = subprocess.run(args, env=env, stdout=subprocess.PIPE, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: (v[0], v[1]) for k, v in found["figures"].items()}, found["incidents"]


def main() -> None:
    setup_test_environment()
    logging.getLogger("incidentdesk.requests").setLevel(logging.WARNING)  # a line per request
    if ARGS.database:  # the large half, for the parent process
        figures, count = measure_at(LARGE)
        print(json.dumps({"figures": figures, "incidents": count}))
        return
    results, counts = {}, {}
    for label, total in (("small", SMALL), ("large", LARGE)):
        if label == "large" and ARGS.large_database:
            connections.close_all()
            results[label], counts[label] = large_elsewhere()
        else:
            results[label], counts[label] = measure_at(total)
        print(f"\n{label}: {counts[label]:,} incidents (PostgreSQL), p50 / p99 ms of {REPEAT} runs")
        for name, (p50, p99) in results[label].items():
            print(f"  {name:40} {p50:9.2f} {p99:9.2f}")
    print(f"\nratios {counts['large']:,} / {counts['small']:,} incidents (p50, p99)")
    for name in results["small"]:
        (a50, a99), (b50, b99) = results["small"][name], results["large"][name]
        print(f"  {name:40} {b50 / a50:9.2f} {b99 / a99:9.2f}")
    pages = [n for n in results["large"] if n.startswith("incident page")]
    (l50, l99), (s50, s99) = results["large"][pages[0]], results["large"][pages[1]]
    print(f"\nlong timeline / short timeline, incident page: {l50 / s50:.2f} (p50), "
          f"{l99 / s99:.2f} (p99)")  # fmt: skip


# stopped with SIGTERM, still drop the database it made
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
try:
    main()
finally:
    connections.close_all()
    if not ARGS.keep and not ARGS.database:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    elif not ARGS.database:
        print(f"kept database {DB_NAME}")
