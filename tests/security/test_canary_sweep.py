"""The canary sweep: every URL of the product, every mail it sends, as each audience.

Three organisations, the team and the public share one installation. Every field a person can
write carries a unique canary word, and each word is registered with who may read it. The
sweep then reads everything the product serves to each audience: every pattern of Django's URL
resolver filled with the ids that exist, every GET operation of /api/v1's OpenAPI document,
the Statuspage documents under /api/v2, feeds, badges, calendars and exports, the pages its
links lead to, the static site export, the webhooks sent to status page subscribers and the
mails the worker delivered through a real SMTP server. Any canary word found where its
audience may not read it is a leak.

The team sees everything. A stakeholder sees what the team shares with its organisation on
incidents it reported or is affected by. The public sees published public titles, public
updates of published incidents, public summaries, components and maintenance.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
import socket
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import brotli
import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django_tasks_db.models import DBTaskResult

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.accounts.services import user_create
from incidentdesk.comms.transports import email as email_transport
from incidentdesk.comms.updates import TEMPLATES_BY_KEY
from incidentdesk.comms.updates import fill as fill_placeholders
from incidentdesk.core import clock
from incidentdesk.core.errors import DomainError
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident
from incidentdesk.policy.services import policy_sync_from_file
from incidentdesk.portal import services as portal
from incidentdesk.portal.files import Upload
from incidentdesk.portal.models import Attachment
from incidentdesk.reviews import services as reviews
from incidentdesk.reviews.models import ActionItem
from incidentdesk.statuspage import cache, prepared, subscriptions
from incidentdesk.statuspage import services as statuspage
from incidentdesk.statuspage.models import Maintenance, Publication

PASSWORD = "correct-horse-battery"
PUBLIC = "public"
NORTHWIND, CONTOSO, FABRIKAM = "Northwind", "Contoso", "Fabrikam"
TEAM = "team"
# a status page subscriber reads the mails to its own address, and otherwise what the public does
SUBSCRIBER = "subscriber"
AUDIENCES = ("anonymous", SUBSCRIBER, NORTHWIND, CONTOSO, FABRIKAM, TEAM)
AFTER_JOIN = "Fabrikam after joining"
# the most pages one audience's crawl reads: far more than the sweep's data has, so a
# crawler that runs away stops instead of spinning
CRAWL_LIMIT = 900

# canary word -> who besides the team may read it (PUBLIC: everyone)
CANARIES: dict[str, frozenset[str]] = {}


def canary(name: str, *readers: str) -> str:
    word = f"Zq{name}Qz"
    assert word not in CANARIES
    CANARIES[word] = frozenset(readers)
    return word


# the team's addresses: stakeholders and the public never learn who works an incident
MEMBER_EMAIL = "alex.canary@spacewise.test"
MANAGER_EMAIL = "morgan.canary@spacewise.test"
SUBSCRIBER_EMAIL = "watcher.canary@example.org"
CANARIES[MEMBER_EMAIL] = frozenset()
CANARIES[MANAGER_EMAIL] = frozenset()
CANARIES[SUBSCRIBER_EMAIL] = frozenset({SUBSCRIBER})
# a stakeholder's address is its organisation's to read, and the team's
NORA_EMAIL, CARL_EMAIL, FAY_EMAIL = "nora@northwind.test", "carl@contoso.test", "fay@fabrikam.test"
CANARIES[NORA_EMAIL] = frozenset({NORTHWIND})
CANARIES[CARL_EMAIL] = frozenset({CONTOSO})
CANARIES[FAY_EMAIL] = frozenset({FABRIKAM})

# Northwind's open incident, reported through the portal with evidence
NW_TITLE = canary("NwTitle", NORTHWIND)
NW_DESCRIPTION = canary("NwDescription", NORTHWIND)
NW_STEPS = canary("NwSteps", NORTHWIND)
NW_FILE_NAME = canary("NwFileName", NORTHWIND)
NW_FILE_BODY = canary("NwFileBody", NORTHWIND)
NW_COMMENT = canary("NwComment", NORTHWIND)
NW_COMMENT_FILE = canary("NwCommentFile", NORTHWIND)
NW_COMMENT_FILE_BODY = canary("NwCommentFileBody", NORTHWIND)
NW_QUESTION = canary("NwQuestion", NORTHWIND)
NW_ANSWER = canary("NwAnswer", NORTHWIND)
NW_UPDATE = canary("NwUpdate", NORTHWIND)
NW_NOTE = canary("NwNote")
NW_TASK_REASON = canary("NwTaskReason")
TRIAGE_REASON = canary("TriageReason")
NW_REVIEW = canary("NwReview")
NW_REVIEW_COMMENT = canary("NwReviewComment")
NW_REVIEW_PUBLIC = canary("NwReviewPublic")  # the incident is not on the status page
NW_ACTION = canary("NwAction")
# Contoso's incident, reported through the API, worked and resolved
CO_TITLE = canary("CoTitle", CONTOSO)
CO_DESCRIPTION = canary("CoDescription", CONTOSO)
CO_COMMENT = canary("CoComment", CONTOSO)
CO_UPDATE = canary("CoUpdate", CONTOSO)
CO_RESOLUTION = canary("CoResolution", CONTOSO)
CO_NOTE = canary("CoNote")
# a Security incident of Northwind: private to the team, told to the public only through a
# manager's summary
SEC_TITLE = canary("SecTitle")
SEC_DESCRIPTION = canary("SecDescription")
SEC_NOTE = canary("SecNote")
SEC_UPDATE = canary("SecUpdate")
SEC_QUESTION = canary("SecQuestion")
SEC_SUMMARY_TITLE = canary("SecSummaryTitle", PUBLIC)
SEC_SUMMARY_BODY = canary("SecSummaryBody", PUBLIC)
# an incident affecting Contoso, on the status page under a public title of its own
PUB_TITLE = canary("PubInternalTitle", CONTOSO)
PUB_DESCRIPTION = canary("PubDescription", CONTOSO)
PUB_PUBLIC_TITLE = canary("PubPublicTitle", PUBLIC)
PUB_PUBLIC_BODY = canary("PubPublicBody", PUBLIC)
PUB_UPDATE = canary("PubUpdate", PUBLIC)
PUB_NOTE = canary("PubNote")
PUB_RESOLUTION = canary("PubResolution", CONTOSO)
PUB_REVIEW = canary("PubReview")
PUB_REVIEW_PUBLIC = canary("PubReviewPublic", PUBLIC)
# a published incident whose first public update is a wording template posted as filled in
TPL_TITLE = canary("TplInternalTitle")
TPL_PUBLIC_TITLE = canary("TplPublicTitle", PUBLIC)
# the status page's own content
COMPONENT_NAME = canary("ComponentName", PUBLIC)
COMPONENT_DESCRIPTION = canary("ComponentDescription", PUBLIC)
MAINTENANCE_NAME = canary("MaintenanceName", PUBLIC)
MAINTENANCE_BODY = canary("MaintenanceBody", PUBLIC)
MAINTENANCE_POST = canary("MaintenancePost", PUBLIC)


def may_read(audience: str, word: str) -> bool:
    readers = CANARIES[word]
    return audience == TEAM or PUBLIC in readers or audience in readers


# -- real receivers -------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append(mail)  # type: ignore[arg-type]
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Webhooks:
    bodies: list[bytes] = field(default_factory=list)


def _webhook_server(stack: ExitStack) -> tuple[str, Webhooks]:
    received = Webhooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}", received


def run_queued_tasks() -> None:
    """Run every queued task as the worker does (the real task code) until none is left, in
    this process and in the sweep's transaction, which is rolled back at the end: the worker
    command would need the data committed."""
    for _ in range(10):
        ready = list(DBTaskResult.objects.ready())
        if not ready:
            return
        for row in ready:
            result = row.task_result
            row.set_successful(row.task.call(*result.args, **result.kwargs))


def _recipient(mail: EmailMessage) -> str:
    (address,) = mail["To"].addresses
    return str(address.addr_spec).lower()


def _text_of(mail: EmailMessage) -> str:
    parts = [f"{name}: {mail[name]}" for name in ("From", "To", "Subject", "Reply-To")]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


# -- the world --------------------------------------------------------------------------------


@dataclass
class World:
    people: dict[str, User | None]
    refs: list[str]
    values: dict[str, list[str]]
    webhook_url: str


def _person(email: str, role: str, org: str | None = None) -> User:
    return user_create(by=None, email=email, password=PASSWORD, role=role, org_name=org)


def _build(webhook_url: str) -> World:
    manager = _person(MANAGER_EMAIL, "manager")
    member = _person(MEMBER_EMAIL, "member")
    nora = _person(NORA_EMAIL, "stakeholder", NORTHWIND)
    carl = _person(CARL_EMAIL, "stakeholder", CONTOSO)
    fay = _person(FAY_EMAIL, "stakeholder", FABRIKAM)

    checkout = statuspage.component_create(
        by=manager, name=f"Checkout {COMPONENT_NAME}", description=COMPONENT_DESCRIPTION
    )
    for requested in (
        subscriptions.subscribe_email(email=SUBSCRIBER_EMAIL),
        subscriptions.subscribe_webhook(url=webhook_url + "/hook"),
    ):
        subscriptions.confirm(subscriptions.confirm_token(requested.request))
    now = clock.now()
    window = statuspage.maintenance_schedule(
        by=manager,
        name=f"Database upgrade {MAINTENANCE_NAME}",
        body=MAINTENANCE_BODY,
        scheduled_for=now + dt.timedelta(days=2),
        scheduled_until=now + dt.timedelta(days=2, hours=2),
        components=[checkout.pk],
    )
    statuspage.maintenance_post(
        by=manager, maintenance=window, status="scheduled", body=MAINTENANCE_POST
    )

    # Northwind: reported in the portal, with files; questions, comments, an internal note,
    # a skipped task, a stakeholder update, and the start of a review
    nw = portal.portal_report(
        by=nora,
        title=f"Checkout payments failing {NW_TITLE}",
        description=f"Card payments are declined {NW_DESCRIPTION}",
        steps=NW_STEPS,
        component_id=checkout.pk,
        uploads=[Upload(f"{NW_FILE_NAME}.txt", f"payment log {NW_FILE_BODY}".encode())],
    )
    incidents.incident_acknowledge(by=member, incident=nw.ref)
    incidents.incident_categorize(
        by=member,
        incident=nw.ref,
        type="functionality",
        severity="P2",
        impact="few",
        reason=TRIAGE_REASON,
    )
    incidents.incident_add_note(by=member, incident=nw.ref, body=f"Suspect release {NW_NOTE}")
    task = Incident.objects.get(pk=nw.pk).tasks.order_by("pk").first()
    assert task is not None
    incidents.incident_task_update(
        by=member, incident=nw.ref, task_id=task.pk, state="skipped", reason=NW_TASK_REASON
    )
    incidents.incident_request_info(by=member, incident=nw.ref, question=NW_QUESTION)
    incidents.incident_provide_info(by=nora, incident=nw.ref, answer=NW_ANSWER)
    portal.portal_comment(
        by=nora,
        incident=nw.ref,
        body=NW_COMMENT,
        uploads=[Upload(f"{NW_COMMENT_FILE}.log", f"trace {NW_COMMENT_FILE_BODY}".encode())],
    )
    incidents.incident_post_update(
        by=member, incident=nw.ref, status="investigating", body=NW_UPDATE
    )
    reviews.review_start(by=member, incident=nw.ref)
    reviews.review_save(
        by=member,
        incident=nw.ref,
        sections={"summary": NW_REVIEW, "public_summary": NW_REVIEW_PUBLIC},
    )
    reviews.review_comment(by=manager, incident=nw.ref, body=NW_REVIEW_COMMENT)
    reviews.action_item_create(
        by=manager,
        incident=nw.ref,
        title=f"Alert on declines {NW_ACTION}",
        kind="detect",
        owner=MEMBER_EMAIL,
        due_date=now.date() + dt.timedelta(days=14),
    )

    # Contoso: reported through the API's service, worked to resolution
    co = incidents.incident_report(
        by=carl,
        title=f"Checkout payments failing {CO_TITLE}",
        description=f"Card payments are declined {CO_DESCRIPTION}",
    )
    incidents.incident_categorize(
        by=member,
        incident=co.ref,
        type="performance",
        severity="P3",
        impact="few",
        reason=TRIAGE_REASON,
    )
    incidents.incident_add_note(by=member, incident=co.ref, body=CO_NOTE)
    portal.portal_comment(by=carl, incident=co.ref, body=CO_COMMENT)
    incidents.incident_post_update(by=member, incident=co.ref, status="identified", body=CO_UPDATE)

    # a private Security incident of Northwind, summarised for the public by a manager
    sec = incidents.incident_report(
        by=member,
        title=f"Checkout payments failing {SEC_TITLE}",
        description=SEC_DESCRIPTION,
        organisation=NORTHWIND,
    )
    incidents.incident_categorize(
        by=member,
        incident=sec.ref,
        type="security",
        severity="P1",
        impact="all",
        reason=TRIAGE_REASON,
    )
    statuspage.incident_link_component(
        by=member, incident=sec.ref, component=checkout.pk, status="major_outage"
    )
    incidents.incident_add_note(by=member, incident=sec.ref, body=SEC_NOTE)
    incidents.incident_request_info(by=member, incident=sec.ref, question=SEC_QUESTION)
    incidents.incident_post_update(
        by=member, incident=sec.ref, status="investigating", body=SEC_UPDATE
    )
    statuspage.incident_publish_summary(
        by=manager,
        incident=sec.ref,
        title=f"Precautionary sign-in maintenance {SEC_SUMMARY_TITLE}",
        body=SEC_SUMMARY_BODY,
    )

    # the team's incident affecting Contoso, on the status page under its public title
    pub = incidents.incident_report(
        by=member,
        title=f"Checkout payments failing {PUB_TITLE}",
        description=PUB_DESCRIPTION,
        organisation=CONTOSO,
    )
    incidents.incident_categorize(
        by=member,
        incident=pub.ref,
        type="functionality",
        severity="P2",
        impact="some",
        reason=TRIAGE_REASON,
    )
    statuspage.incident_link_component(
        by=member, incident=pub.ref, component=checkout.pk, status="partial_outage"
    )
    statuspage.incident_publish(
        by=member, incident=pub.ref, title=f"Slow checkout {PUB_PUBLIC_TITLE}", body=PUB_PUBLIC_BODY
    )
    incidents.incident_post_update(
        by=member, incident=pub.ref, status="identified", body=PUB_UPDATE
    )
    incidents.incident_add_note(by=member, incident=pub.ref, body=PUB_NOTE)
    incidents.incident_resolve(by=member, incident=pub.ref, summary=PUB_RESOLUTION)
    reviews.review_start(by=member, incident=pub.ref)
    reviews.review_save(
        by=member,
        incident=pub.ref,
        sections={
            "summary": PUB_REVIEW,
            "trigger": "A slow query.",
            "lessons": "Index the table.",
            "public_summary": PUB_REVIEW_PUBLIC,
        },
    )
    reviews.review_publish(by=manager, incident=pub.ref)
    incidents.incident_resolve(by=member, incident=co.ref, summary=CO_RESOLUTION)

    # the team's own incident, on the page; its update is the "investigating" wording as is
    tpl = incidents.incident_report(by=member, title=f"Checkout payments failing {TPL_TITLE}")
    incidents.incident_categorize(
        by=member, incident=tpl.ref, type="functionality", severity="P3", impact="few"
    )
    statuspage.incident_publish(
        by=member, incident=tpl.ref, title=f"Slow search {TPL_PUBLIC_TITLE}"
    )
    wording = TEMPLATES_BY_KEY["investigating"]
    incidents.incident_post_update(
        by=member,
        incident=tpl.ref,
        status=wording.status,
        body=fill_placeholders(wording.text, Incident.objects.get(pk=tpl.pk)),
    )

    refs = [i.ref for i in (nw, co, sec, pub, tpl)]
    publications = [str(p) for p in Publication.objects.values_list("pk", flat=True)]
    ids = {
        "ref": refs,
        "public_id": publications,
        "pk": sorted(
            {str(checkout.pk)} | {str(m) for m in Maintenance.objects.values_list("pk", flat=True)}
        ),
        "attachment_id": [str(a) for a in Attachment.objects.values_list("pk", flat=True)],
        "item_id": [str(a) for a in ActionItem.objects.values_list("pk", flat=True)],
        "user_id": [str(u.pk) for u in (manager, member, nora, carl, fay)],
        "org_id": [str(o) for o in StakeholderOrg.objects.values_list("pk", flat=True)],
        "fmt": ["md", "json", "csv"],
        "number": ["1", "2"],
        "page": ["1", "2"],
        "type_key": ["security", "functionality"],
        "severity": ["P1", "P2"],
        "rest": ["incidents/unknown.json"],
    }
    people: dict[str, User | None] = {
        "anonymous": None,
        SUBSCRIBER: None,
        NORTHWIND: nora,
        CONTOSO: carl,
        FABRIKAM: fay,
        TEAM: member,
    }
    return World(people=people, refs=refs, values=ids, webhook_url=webhook_url)


# -- collecting every URL -----------------------------------------------------------------


def _template(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern._route))
    regex = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern._regex)
    return regex.replace("^", "").replace("$", "").replace("\\.", ".").replace("?", "")


def resolver_templates() -> list[str]:
    """Every URL pattern of the product, with {name} where it takes a value."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + _template(p.pattern))
            elif isinstance(p, URLPattern):
                found.append(prefix + _template(p.pattern))

    walk(get_resolver().url_patterns, "")
    return found


def fill(template: str, values: dict[str, list[str]], fallback: list[str]) -> list[str]:
    names = re.findall(r"{(\w+)}", template)
    choices = [values.get(name, fallback) for name in names]
    urls = []
    for combo in itertools.product(*choices):
        url = template
        for name, value in zip(names, combo, strict=True):
            url = url.replace("{" + name + "}", value, 1)
        urls.append("/" + url.lstrip("/"))
    return urls


LINK = re.compile(r"""(?:href|src|hx-get|data-url)\s*=\s*["']([^"'#][^"']*)["']""")
SKIP = ("/static/", "/logout", "unsubscribe", "/confirm/")


def links_in(body: str) -> Iterator[str]:
    for raw in LINK.findall(body):
        url = urldefrag(raw.replace("&amp;", "&"))[0]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/"):
            if parts.netloc and parts.netloc.startswith(("127.0.0.1", "testserver")):
                url = parts.path + (f"?{parts.query}" if parts.query else "")
            else:
                continue
        if not any(s in url for s in SKIP):
            yield url


def crawl(client: Client, seeds: list[str]) -> dict[str, str]:
    """GET every seed and every page its links lead to, once each."""
    seen: dict[str, str] = {}
    queue = deque(dict.fromkeys(seeds))
    while queue and len(seen) < CRAWL_LIMIT:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", errors="replace")
        # headers too: a redirect's target, a download's file name
        seen[url] = text + "".join(f"\n{name}: {value}" for name, value in response.items())
        if "html" in response.get("Content-Type", ""):
            queue.extend(u for u in links_in(text) if u not in seen)
    unread = [u for u in queue if u not in seen]
    assert unread == [], f"the crawl stopped at {CRAWL_LIMIT} pages with {len(unread)} unread"
    return seen


def seeds_for(world: World, openapi: dict[str, Any]) -> list[str]:
    fallback = ["1", world.refs[0]]
    urls: list[str] = []
    for template in resolver_templates():
        urls += fill(template, world.values, fallback)
    for path, operations in openapi["paths"].items():
        if "get" in operations:
            urls += fill(path, world.values, fallback)
    for ref in world.refs:
        urls += [f"/portal/{ref}/?reported=1", f"/?q={ref}", f"/api/v1/incidents?q={ref}"]
    urls += ["/?q=Checkout", "/api/v1/incidents?q=Checkout", "/portal/?q=Checkout"]
    return urls


# -- the sweep --------------------------------------------------------------------------------


@dataclass
class Sweep:
    outputs: dict[str, dict[str, str]]  # audience -> where -> what it read
    urls: int = 0


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _sweep(world: World, inbox: Inbox, webhooks: Webhooks, export_dir: Path) -> Sweep:
    run_queued_tasks()
    openapi = _client(world.people[TEAM]).get("/api/v1/openapi.json").json()
    seeds = seeds_for(world, openapi)
    outputs: dict[str, dict[str, str]] = {}
    for audience in AUDIENCES:
        if audience != SUBSCRIBER:
            outputs[audience] = crawl(_client(world.people[audience]), seeds)
    outputs[SUBSCRIBER] = {}

    call_command("statuspage", "export", str(export_dir))
    for path in export_dir.rglob("*"):
        if path.is_file():
            outputs["anonymous"][f"export {path.relative_to(export_dir)}"] = path.read_text(
                errors="replace"
            )
    # the prepared front, as served before Django and by a reverse proxy: every file and
    # every compressed copy, read from the disk
    front_dir = export_dir.parent / "front"
    prepared.prepare(root=front_dir, force=True)
    for path in front_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            raw = {".gz": gzip.decompress, ".br": brotli.decompress}.get(path.suffix, bytes)(raw)
            outputs["anonymous"][f"front {path.relative_to(front_dir)}"] = raw.decode(
                errors="replace"
            )
    for i, body in enumerate(webhooks.bodies):
        outputs["anonymous"][f"webhook {i}"] = body.decode(errors="replace")
    inboxes = {
        person.email: audience
        for audience, person in world.people.items()
        if person is not None and audience != TEAM
    }
    inboxes |= {SUBSCRIBER_EMAIL: SUBSCRIBER, MEMBER_EMAIL: TEAM, MANAGER_EMAIL: TEAM}
    for i, mail in enumerate(inbox.messages):
        audience = inboxes[_recipient(mail)]
        outputs[audience][f"mail {i} to {mail['To']}: {mail['Subject']}"] = _text_of(mail)

    # "it is one of these": Fabrikam joins Northwind's open incident, which it was offered
    fay = world.people[FABRIKAM]
    assert fay is not None
    with suppress(DomainError):
        portal.portal_join(by=fay, incident=world.refs[0])
    run_queued_tasks()
    outputs[AFTER_JOIN] = crawl(_client(fay), seeds)
    for i, mail in enumerate(inbox.messages):
        if _recipient(mail) == fay.email:
            outputs[AFTER_JOIN][f"mail {i} to {mail['To']}: {mail['Subject']}"] = _text_of(mail)
    return Sweep(outputs=outputs, urls=len(set(seeds)))


@pytest.fixture(scope="module")
def sweep(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Sweep]:
    """Build the world through the services, read everything as each audience, then roll
    the world back: the tests below judge what was read."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(controller.stop)
        webhook_url, webhooks = _webhook_server(stack)
        email_transport._close()
        stack.callback(email_transport._close)
        smtp = {"host": "127.0.0.1", "port": controller.port, "security": ""}
        stack.enter_context(
            override_settings(
                EMAIL_SMTP={**smtp, "user": "", "password": ""},
                EMAIL_URL_IS_DEFAULT=False,
                ATTACHMENTS_DIR=Path(tmp) / "attachments",
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                OUTBOUND_ALLOW_NETWORKS=["127.0.0.1/32"],
            )
        )
        stack.enter_context(django_db_blocker.unblock())
        cache.clear()
        stack.callback(cache.clear)
        with transaction.atomic():
            policy_sync_from_file()
            world = _build(webhook_url)
            result = _sweep(world, inbox, webhooks, Path(tmp) / "site")
            transaction.set_rollback(True)
        yield result


def leaks_of(sweep: Sweep, audience: str) -> list[tuple[str, str]]:
    """(where, canary word) for each word the audience read but may not."""
    reader = FABRIKAM if audience == AFTER_JOIN else audience
    return [
        (where, word)
        for where, text in sweep.outputs[audience].items()
        for word in CANARIES
        if word in text and not may_read(reader, word)
    ]


@pytest.mark.parametrize("audience", [a for a in AUDIENCES if a != TEAM] + [AFTER_JOIN])
def test_no_audience_reads_a_canary_it_may_not(sweep, audience):
    leaks = leaks_of(sweep, audience)
    assert leaks == [], f"{audience} read canaries it may not: {leaks}"


def test_the_sweep_reads_what_each_audience_may(sweep):
    """The sweep can fail: each audience's own canaries are in what it read, so a canary
    found nowhere is not one the crawl never reached."""
    for audience in AUDIENCES:
        everything = "\n".join(sweep.outputs[audience].values())
        if audience == SUBSCRIBER:
            # mails only: the announcements of what was published
            expected = [SUBSCRIBER_EMAIL, PUB_PUBLIC_TITLE, SEC_SUMMARY_TITLE, MAINTENANCE_NAME]
        else:
            # Fabrikam reported nothing: the team meets its address on the admin's pages only
            unmet = (SUBSCRIBER_EMAIL, FAY_EMAIL) if audience == TEAM else (SUBSCRIBER_EMAIL,)
            expected = [w for w in CANARIES if may_read(audience, w) and w not in unmet]
        missing = [w for w in expected if w not in everything]
        assert missing == [], f"{audience} never read {missing}"
    assert sweep.urls > 200
    assert any(w.startswith("mail") for w in sweep.outputs[NORTHWIND])
    assert any(w.startswith("export") for w in sweep.outputs["anonymous"])
    front = {w: t for w, t in sweep.outputs["anonymous"].items() if w.startswith("front")}
    assert "front status/index.html.br" in front
    assert any(PUB_PUBLIC_TITLE in text for text in front.values())
    assert any(w.startswith("webhook") for w in sweep.outputs["anonymous"])
    assert json.dumps(sorted(sweep.outputs)) == json.dumps(sorted([*AUDIENCES, AFTER_JOIN]))
