"""Generated incidents at size: `incidentdesk demo --scale N`.

Writes N incidents with years of history behind them (every status, severity, type and
organisation; timelines with notes, status changes, stakeholder updates and deliveries;
reviews with action items for the finished P1 and P2 incidents; status page publications and
component history) so a team can try the product, and the benches measure it, at the size a
team reaches after years.

The services write one incident at a time, which would take days for a million. This module
writes the same rows in bulk instead: COPY on PostgreSQL, batched inserts on SQLite, one
transaction per batch. It keeps what the services guarantee: each timeline is hash-chained
exactly as `timeline.append` chains it (so `incidentdesk timeline verify` passes), the SLA and
review due times come from the services' own computation, and action items carry the day
their reminder is due. Entries are stamped in the past, the newest a few hours ago. At the
end the real periodic checks run once over it (`catchup.py` says why), so that what fell due in
its last days is written, as the worker would have written it: nothing is left due.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import operator
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import IO, Any

from django.db import connection, connections, transaction
from django.db.models.base import ModelState

from incidentdesk.accounts.models import Role, User
from incidentdesk.accounts.services import user_create
from incidentdesk.comms.models import ChannelKind, Delivery, DeliveryState
from incidentdesk.core import clock
from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident, PublicUpdate, TimelineEntry
from incidentdesk.incidents.services import compute_due
from incidentdesk.policy.schema import Policy
from incidentdesk.policy.selectors import active_policy
from incidentdesk.reviews.models import ActionItem, ActionStatus, Review, ReviewState
from incidentdesk.reviews.services import next_remind_on
from incidentdesk.statuspage.models import (
    Component,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Publication,
)
from incidentdesk.statuspage.services import page_bump

from . import loader
from .bulk import ENTRY_FIELDS, Chain, Progress, entry_line, insert_rows, reserve_ids
from .catchup import CaughtUp, catch_up

BATCH = 2_000
# the newest incidents are still being worked; the rest are history over this many days
HISTORY_DAYS = 3 * 365
OPEN_SHARE = 0.002
OPEN_MAX = 400
PASSWORD = loader.PASSWORD

ORGS = [
    "Adventure Works",
    "Alpine Ski House",
    "Blue Yonder Airlines",
    "Coho Winery",
    "Datum Corporation",
    "Fourth Coffee",
    "Litware",
    "Lucerne Publishing",
    "Margie's Travel",
    "Proseware",
    "Tailspin Toys",
    "Wide World Importers",
    "Woodgrove Bank",
    "Wingtip Toys",
]
MEMBERS = [
    ("Priya", "Nair"),
    ("Jonas", "Berg"),
    ("Lena", "Vogel"),
    ("Omar", "Haddad"),
    ("Mei", "Chen"),
    ("Tom", "Gallo"),
]
AREAS = [
    "Checkout",
    "Point-of-sale sync",
    "Store tills",
    "Receipt printing",
    "Gift cards",
    "Loyalty points",
    "Stock levels",
    "Sales reports",
    "Public API",
    "Web shop search",
    "Order confirmation e-mails",
    "Card payments",
    "Click and collect",
    "Price labels",
]
SYMPTOMS = {
    "functionality": [
        "returns an error",
        "shows wrong totals",
        "does not save changes",
        "fails for some stores",
        "is missing recent data",
    ],
    "performance": ["is slow", "times out at peak hours", "takes over a minute to load"],
    "security": [
        "shows another store's data",
        "accepts logins it should refuse",
        "leaks order numbers in its logs",
    ],
    "maintenance": ["needs an emergency patch", "is being moved to a new server"],
}
NOTES = [
    "Logs show timeouts to the database since the last deployment.",
    "Rolled back the release on one store cluster to compare.",
    "The vendor confirmed a fault on their side and is working on it.",
    "Reproduced with a test till; the error starts after the nightly sync.",
    "Cache hit rate dropped to zero at the time reports started.",
    "Asked the store managers which tills are affected.",
]
FIXES = [
    "Rolled back the faulty release.",
    "Restarted the sync service and cleared its stuck queue.",
    "Added the missing index; pages load in under a second again.",
    "The vendor fixed the routing rule on their side.",
    "Renewed the expired certificate.",
]
# (type, weight), (severity, weight): most incidents are small
TYPES = [("functionality", 55), ("performance", 25), ("security", 8), ("maintenance", 12)]
SEVERITIES = [("P3", 60), ("P2", 30), ("P1", 10)]
IMPACTS = {"P1": ["all", "most"], "P2": ["most", "some"], "P3": ["some", "few"]}


@dataclass
class Cast:
    """Who the generated incidents involve."""

    manager: User
    members: list[User]
    stakeholders: list[User]  # one per organisation, each with `organisation` set
    components: list[Component]
    policy_version_id: int
    policy: Policy


@dataclass
class Keys:
    """Primary keys reserved for the rows a batch's stories create (each story needs them
    before the rows exist: its timeline entries name them)."""

    deliveries: Iterator[int]
    reviews: Iterator[int]
    items: Iterator[int]


@dataclass
class Batch:
    """The rows of one batch of incidents, ready to write."""

    incidents: list[Incident] = field(default_factory=list)
    affected: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    publications: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)


# -- the cast ------------------------------------------------------------------------------


def gather_cast() -> Cast:
    """The demo's people plus more organisations and members, made once through the services
    (so their accounts and audit entries are real); later runs find them."""
    loader.load()
    for org in ORGS:
        email = "ops@" + "".join(c for c in org.lower() if c.isalnum()) + ".example"
        if not User.objects.filter(email=email).exists():
            user_create(
                by=None,
                email=email,
                password=PASSWORD,
                role=Role.STAKEHOLDER,
                org_name=org,
                first_name="Ops",
                last_name=org.split()[0],
            )
    for first, last in MEMBERS:
        email = f"{first.lower()}@spacewise.example"
        if not User.objects.filter(email=email).exists():
            user_create(
                by=None,
                email=email,
                password=PASSWORD,
                role=Role.MEMBER,
                first_name=first,
                last_name=last,
            )
    version, policy = active_policy()
    stakeholders = list(
        User.objects.filter(role=Role.STAKEHOLDER, organisation__isnull=False, is_active=True)
        .select_related("organisation")
        .order_by("pk")
    )
    one_each: dict[int | None, User] = {}
    for person in stakeholders:
        one_each.setdefault(person.organisation_id, person)
    return Cast(
        manager=User.objects.get(email=loader.LOGINS[1].email),
        members=list(User.objects.filter(role=Role.MEMBER, is_active=True).order_by("pk")),
        stakeholders=list(one_each.values()),
        components=list(Component.objects.order_by("pk")),
        policy_version_id=version.pk,
        policy=policy,
    )


# -- one incident's story -------------------------------------------------------------------


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _status_for(rng: random.Random, age: dt.timedelta) -> Status:
    if age < dt.timedelta(days=2):
        return rng.choice(
            [
                Status.REPORTED,
                Status.TRIAGED,
                Status.INVESTIGATING,
                Status.IDENTIFIED,
                Status.MONITORING,
                Status.RESOLVED,
            ]
        )
    if rng.random() < 0.05:
        return Status.REJECTED
    return Status.RESOLVED if age < dt.timedelta(days=7) else Status.CLOSED


_INCIDENT_DEFAULTS: dict[str, Any] = {}


def _incident(**values: Any) -> Incident:
    """An unsaved incident with these attribute values and the model's defaults for the rest,
    without Model.__init__'s per-field work (the generator makes a million of them)."""
    if not _INCIDENT_DEFAULTS:
        _INCIDENT_DEFAULTS.update((k, v) for k, v in Incident().__dict__.items() if k != "_state")
    inc = Incident.__new__(Incident)
    inc.__dict__.update(_INCIDENT_DEFAULTS)
    inc.__dict__.update(values)
    inc._state = ModelState()
    return inc


class Story:
    """Writes one incident's life into a batch, in the order the services would."""

    def __init__(self, cast: Cast, batch: Batch, rng: random.Random, keys: Keys) -> None:
        self.c, self.b, self.rng, self.keys = cast, batch, rng, keys
        self.limit = clock.now()

    def tell(self, pk: int, reported: dt.datetime, status: Status, now: dt.datetime) -> None:
        """`now`: no entry is stamped later than this."""
        rng, c = self.rng, self.c
        self.limit = now
        reporter = rng.choice(c.stakeholders)
        org = reporter.organisation
        assert org is not None
        type_ = _pick(rng, TYPES)
        severity = _pick(rng, SEVERITIES)
        area = rng.choice(AREAS)
        title = f"{area} {rng.choice(SYMPTOMS[type_])}"
        inc = _incident(
            id=pk,
            title=title,
            description=f"{title} since {reported:%H:%M}; our stores see it.",
            reporter_id=reporter.id,
            reporter_org_id=org.id,
            status=Status.REPORTED,
            policy_version_id=c.policy_version_id,
            reported_at=reported,
            updated_at=reported,
            started_at=reported - dt.timedelta(minutes=rng.randint(5, 90)),
            timeline_seq=0,
            timeline_head="",
            version=0,
        )
        self.b.incidents.append(inc)
        self.b.affected.append((pk, org.id))
        ch = Chain(inc, self.b.entries)
        self.member = rng.choice(c.members)
        self.t = reported
        ch.add(
            "reported",
            reporter,
            reported,
            {
                "title": title,
                "organisation": org.name,
                "started_at": inc.started_at.isoformat() if inc.started_at else None,
                "source": rng.choice(["portal", "api", "email"]),
                "policy_version": c.policy_version_id,
            },
        )
        self._notify(ch, "reported", "team", [c.manager])
        if status == Status.REPORTED:
            return self._finish(inc, now)
        if status == Status.REJECTED:
            inc.status, inc.rejected_at = Status.REJECTED, self._later(20, 240)
            inc.rejection_reason = "Not an incident: working as designed."
            ch.add(
                "rejected",
                self.member,
                inc.rejected_at,
                {
                    "from": "reported",
                    "reason": inc.rejection_reason,
                    "duplicate_of": None,
                },
            )
            return self._finish(inc, now)
        self._triage(inc, ch, type_, severity, reporter)
        if status == Status.TRIAGED:
            return self._finish(inc, now)
        self._work(inc, ch, status, reporter)
        if status in (Status.RESOLVED, Status.CLOSED):
            self._resolve(inc, ch, reporter)
        if status == Status.CLOSED:
            self._close(inc, ch, now)
        self._finish(inc, now)

    def _later(self, low: int, high: int) -> dt.datetime:
        step = dt.timedelta(minutes=self.rng.randint(low, high), seconds=self.rng.random())
        self.t = min(self.t + step, self.limit)
        return self.t

    def _triage(self, inc: Incident, ch: Chain, type_: str, severity: str, who: User) -> None:
        m = self.member
        inc.acknowledged_at = self._later(3, 40)
        inc.assignee_id = m.id
        ch.add("acknowledged", m, inc.acknowledged_at, {"late": False, "assignee": m.email})
        impact = self.rng.choice(IMPACTS[severity])
        inc.type, inc.severity, inc.impact = type_, severity, impact
        inc.private = bool(self.c.policy.types[type_].private)
        inc.status, inc.triaged_at = Status.TRIAGED, self._later(2, 20)
        ch.add(
            "categorized",
            m,
            inc.triaged_at,
            {
                "type": type_,
                "severity": severity,
                "impact": impact,
                "suggested_severity": severity,
                "suggested_impact": None,
                "reason": "",
                "previous": {"type": "", "severity": "", "impact": ""},
                "private": inc.private,
            },
        )

    def _work(self, inc: Incident, ch: Chain, status: Status, reporter: User) -> None:
        m = self.member
        steps = [Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING]
        last = steps.index(status) if status in steps else self.rng.randint(0, 2)
        previous = Status.TRIAGED
        for i, step in enumerate(steps[: last + 1]):
            ch.add("status_changed", m, self._later(1, 30), {"from": previous, "to": step})
            inc.status = previous = step
            if i == 0 or self.rng.random() < 0.5:
                ch.add("note", m, self._later(5, 60), {"body": self.rng.choice(NOTES)})
            if i == 0 or self.rng.random() < 0.4:
                self._update(inc, ch, step, f"{inc.title}: we are on it ({step}).", reporter)

    def _update(self, inc: Incident, ch: Chain, status: str, body: str, reporter: User) -> None:
        at = self._later(2, 45)
        seq = ch.add("public_update", self.member, at, {"status": status, "body": body})
        self.b.updates.append((inc.id, status, body, self.member.id, at, seq))
        inc.first_update_at = inc.first_update_at or at
        inc.last_update_at = at
        self._notify(ch, "public_update", "stakeholders", [reporter])

    def _notify(self, ch: Chain, trigger: str, audience: str, people: list[User]) -> None:
        for person in people:
            pk = next(self.keys.deliveries)
            at = self.t = min(self.t + dt.timedelta(seconds=self.rng.uniform(1, 20)), self.limit)
            subject = f"[{ch.incident.ref}] {ch.incident.title}"
            self.b.deliveries.append(
                (
                    pk,
                    f"generated:{pk}",
                    ch.incident.id,
                    ChannelKind.EMAIL,
                    person.id,
                    person.email,
                    trigger,
                    audience,
                    subject,
                    subject,
                    DeliveryState.SENT,
                    1,
                    at,
                    at,
                    at,
                    *BLANK_DELIVERY,
                )
            )
            ch.add(
                "delivered",
                None,
                at,
                {
                    "trigger": trigger,
                    "audience": audience,
                    "channel": "email",
                    "recipient": person.email,
                    "delivery": pk,
                    "attempts": 1,
                    "note": "250 OK",
                },
            )

    def _resolve(self, inc: Incident, ch: Chain, reporter: User) -> None:
        previous = inc.status
        inc.status, inc.resolved_at = Status.RESOLVED, self._later(20, 600)
        inc.resolution_summary = self.rng.choice(FIXES)
        ch.add(
            "resolved",
            self.member,
            inc.resolved_at,
            {
                "from": previous,
                "summary": inc.resolution_summary,
                "open_tasks": [],
                "late": bool(inc.resolve_due_at and inc.resolved_at > inc.resolve_due_at),
            },
        )
        self._update(inc, ch, "resolved", f"Resolved: {inc.resolution_summary}", reporter)
        if not inc.private and inc.severity in ("P1", "P2") and self.c.components:
            self._publish(inc)

    def _publish(self, inc: Incident) -> None:
        """Status page history: the incident was shown with a component down until resolved."""
        comp = self.rng.choice(self.c.components)
        down = (
            ComponentStatus.MAJOR_OUTAGE if inc.severity == "P1" else ComponentStatus.PARTIAL_OUTAGE
        )
        assert inc.triaged_at is not None and inc.resolved_at is not None
        self.b.publications.append(
            (
                inc.id,
                inc.title,
                "",
                False,
                "",
                inc.triaged_at,
                self.c.manager.id,
                True,
                "",
                None,
                None,
            )
        )
        self.b.links.append((inc.id, comp.id, down))
        self.b.changes.append((comp.id, down, inc.triaged_at))
        self.b.changes.append((comp.id, ComponentStatus.OPERATIONAL, inc.resolved_at))

    def _close(self, inc: Incident, ch: Chain, now: dt.datetime) -> None:
        severity = self.c.policy.severities.get(inc.severity)
        if severity is not None and severity.review_required:
            self._review(inc, ch, now)
        inc.status, inc.closed_at = Status.CLOSED, self._later(60, 2880)
        ch.add("closed", self.c.manager, inc.closed_at, {})

    def _review(self, inc: Incident, ch: Chain, now: dt.datetime) -> None:
        pk = next(self.keys.reviews)
        started, published = self._later(60, 1440), self._later(60, 2880)
        sections = {"summary": f"{inc.title}. {inc.resolution_summary}", "lessons": "Alert sooner."}
        self.b.reviews.append(
            (
                pk,
                inc.id,
                ReviewState.PUBLISHED,
                sections,
                [],
                self.member.id,
                1,
                started,
                published,
                published,
            )
        )
        ch.add("review_started", self.member, started, {"review": pk})
        for title in ("Alert on sync queue length", "Add a runbook step")[: self.rng.randint(1, 2)]:
            item_pk = next(self.keys.items)
            due = (published + dt.timedelta(days=self.rng.randint(7, 60))).date()
            done = due < now.date()
            item = SimpleNamespace(
                incident_id=inc.id,
                due_date=due,
                reminded_soon_for=due if done else None,
                reminded_overdue_for=None,
                status=ActionStatus.DONE if done else ActionStatus.OPEN,
            )
            self.b.items.append(
                (
                    item_pk,
                    inc.id,
                    title,
                    "detect",
                    self.member.id,
                    due,
                    item.status,
                    self.c.manager.id,
                    published,
                    published if done else None,
                    item.reminded_soon_for,
                    None,
                    next_remind_on(item),  # type: ignore[arg-type]
                )
            )
            ch.add(
                "action_item_added",
                self.c.manager,
                published,
                {
                    "item": item_pk,
                    "title": title,
                    "kind": "detect",
                    "owner": self.member.email,
                    "due_date": due.isoformat(),
                },
            )
        ch.add(
            "review_published",
            self.member,
            published,
            {
                "review": pk,
                "revision": 1,
                "public_summary": "",
            },
        )

    def _finish(self, inc: Incident, now: dt.datetime) -> None:
        compute_due(inc, self.c.policy)
        if inc.status == Status.CLOSED:
            inc.review_check_on = None  # its review is published: nothing left to check


# -- the run ---------------------------------------------------------------------------------

INCIDENT_FIELDS = [f.attname for f in Incident._meta.concrete_fields]
_incident_row = operator.attrgetter(*INCIDENT_FIELDS)
DELIVERY_FIELDS = (
    "id",
    "key",
    "incident_id",
    "channel",
    "user_id",
    "recipient",
    "trigger",
    "audience",
    "subject",
    "body_markdown",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "sent_at",
)
# the rest of a delivery's columns, blank for a sent e-mail
DELIVERY_DEFAULTS = (
    "address_encrypted", "template", "context", "headers", "secret_encrypted", "last_error",
)  # fmt: skip
BLANK_DELIVERY: tuple[Any, ...] = ("", "", {}, {}, "", "")
REVIEW_FIELDS = (
    "id",
    "incident_id",
    "state",
    "sections",
    "picks",
    "author_id",
    "revision",
    "created_at",
    "updated_at",
    "published_at",
)
ITEM_FIELDS = (
    "id",
    "incident_id",
    "title",
    "kind",
    "owner_id",
    "due_date",
    "status",
    "created_by_id",
    "created_at",
    "done_at",
    "reminded_soon_for",
    "reminded_overdue_for",
    "remind_on",
)
PUBLICATION_FIELDS = (
    "incident_id",
    "public_title",
    "public_body",
    "summary_only",
    "summary_status",
    "published_at",
    "published_by_id",
    "automatic",
    "postmortem_body",
    "postmortem_at",
    "withdrawn_at",
)


def _write(batch: Batch) -> None:
    insert_rows(Incident, INCIDENT_FIELDS, [_incident_row(i) for i in batch.incidents])
    insert_rows(
        Incident.affected_orgs.through, ("incident_id", "stakeholderorg_id"), batch.affected
    )
    insert_rows(TimelineEntry, ENTRY_FIELDS, batch.entries, entry_line)
    insert_rows(
        PublicUpdate,
        ("incident_id", "status", "body", "posted_by_id", "posted_at", "seq"),
        batch.updates,
    )
    insert_rows(Delivery, (*DELIVERY_FIELDS, *DELIVERY_DEFAULTS), batch.deliveries)
    insert_rows(Review, (*REVIEW_FIELDS, "waiver_reason"), [(*r, "") for r in batch.reviews])
    insert_rows(ActionItem, ITEM_FIELDS, batch.items)
    insert_rows(Publication, PUBLICATION_FIELDS, batch.publications)
    insert_rows(IncidentComponent, ("incident_id", "component_id", "status"), batch.links)
    insert_rows(ComponentStatusChange, ("component_id", "status", "at"), batch.changes)


GROWN = [
    m._meta.db_table
    for m in (Incident, TimelineEntry, PublicUpdate, Delivery, Review, ActionItem, Publication)
]


@dataclass(frozen=True)
class Generated:
    incidents: int
    entries: int
    deliveries: int
    caught_up: CaughtUp

    def summary(self) -> str:
        return (
            f"Generated {self.incidents:,} incidents with {self.entries:,} timeline entries and "
            f"{self.deliveries:,} deliveries.\n{self.caught_up.summary()}"
        )


@dataclass(frozen=True)
class Slice:
    """One batch of a run: incidents `start` to `start + len(pks)` of `count`."""

    start: int
    count: int
    pks: list[int]
    now: dt.datetime
    seed: int


_CAST: list[Cast] = []  # the run's cast, for the processes that make its batches


def _make(part: Slice) -> tuple[int, int, int]:
    """Make and write one batch in its own transaction: (incidents, entries, deliveries)."""
    c, size, count, now = _CAST[0], len(part.pks), part.count, part.now
    rng = random.Random(f"{part.seed}:{part.start}")  # the same history, however many processes
    open_count = min(OPEN_MAX, max(1, int(count * OPEN_SHARE)))
    history = dt.timedelta(days=HISTORY_DAYS)
    batch = Batch()
    with transaction.atomic():
        keys = Keys(
            deliveries=iter(reserve_ids(Delivery, size * 6)),
            reviews=iter(reserve_ids(Review, size)),
            items=iter(reserve_ids(ActionItem, size * 2)),
        )
        story = Story(c, batch, rng, keys)
        for offset, pk in enumerate(part.pks):
            i = part.start + offset
            if i >= count - open_count:  # the open ones: reported in the last 36 hours
                age = dt.timedelta(hours=36) * (count - i) / open_count
            else:
                age = history * (1 - i / count) + dt.timedelta(days=2)
            reported = now - age - dt.timedelta(hours=8)
            story.tell(pk, reported, _status_for(rng, age), now - dt.timedelta(hours=1))
        _write(batch)
    return size, len(batch.entries), len(batch.deliveries)


def _slices(count: int, batch_size: int, now: dt.datetime, seed: int) -> Iterator[Slice]:
    """The run's batches, oldest first, each with its incident keys reserved in that order (so
    ids follow report times whichever process writes the batch). On SQLite the keys of a
    batch are taken under its write lock instead: there one process makes them in turn."""
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        if connection.vendor == "postgresql":
            pks = reserve_ids(Incident, size)
        else:
            with transaction.atomic():
                pks = reserve_ids(Incident, size)
        yield Slice(start, count, pks, now, seed)


def generate(
    count: int,
    *,
    stream: IO[str] | None = None,
    seed: int = 12,
    batch_size: int = BATCH,
    processes: int = 2,
) -> Generated:
    """Write `count` generated incidents, oldest first, in batches of `batch_size`, one
    transaction each. On PostgreSQL, runs of more than two batches are made by `processes`
    processes at once: Python building one batch while the server indexes another."""
    _CAST[:] = [gather_cast()]
    progress = Progress(count, stream or sys.stderr)
    now = clock.now()
    parts = _slices(count, batch_size, now, seed)
    entries = deliveries = 0
    if connection.vendor == "postgresql" and processes > 1 and count > 2 * batch_size:
        connections.close_all()  # each process opens its own
        with multiprocessing.get_context("fork").Pool(processes, _forked) as pool:
            for size, made, sent in pool.imap_unordered(_make, parts):
                entries, deliveries = entries + made, deliveries + sent
                progress.add(size)
    else:
        for part in parts:
            size, made, sent = _make(part)
            entries, deliveries = entries + made, deliveries + sent
            progress.add(size)
    with transaction.atomic():
        page_bump()
    if connection.vendor == "postgresql":  # the planner's statistics, for the tables grown
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(GROWN))
    return Generated(count, entries, deliveries, catch_up(stream or sys.stderr))


def _forked() -> None:
    """A generating process: the parent's connections were closed before the fork."""
    connections.close_all()


def fan_out(incident: Incident, count: int, *, batch_size: int = 5_000) -> int:
    """`count` more deliveries of the incident's last update, sent, each with its "delivered"
    entry: the timeline of an incident whose update reached thousands of subscribers.
    Returns the incident's last entry number."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        chain_ = Chain(locked, [])
        at = max(clock.now() - dt.timedelta(minutes=5), locked.updated_at)
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            deliveries: list[tuple[Any, ...]] = []
            for pk in reserve_ids(Delivery, size):
                address = f"subscriber{pk}@example.net"
                deliveries.append((
                    pk, f"generated:{pk}", locked.pk, ChannelKind.EMAIL, None, address,
                    "public_update", "subscribers", locked.title, locked.title,
                    DeliveryState.SENT, 1, at, at, at, *BLANK_DELIVERY,
                ))  # fmt: skip
                chain_.add("delivered", None, at, {
                    "trigger": "public_update", "audience": "subscribers", "channel": "email",
                    "recipient": address, "delivery": pk, "attempts": 1, "note": "250 OK",
                })  # fmt: skip
            insert_rows(Delivery, (*DELIVERY_FIELDS, *DELIVERY_DEFAULTS), deliveries)
            insert_rows(TimelineEntry, ENTRY_FIELDS, chain_.rows, entry_line)
            chain_.rows.clear()
        Incident.objects.filter(pk=locked.pk).update(
            timeline_seq=locked.timeline_seq,
            timeline_head=locked.timeline_head,
            updated_at=locked.updated_at,
        )
    return locked.timeline_seq
