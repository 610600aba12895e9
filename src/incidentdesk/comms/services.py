"""Communications: queueing deliveries, the worker's attempt at one, retries by hand,
channels and preferences. The only writers of the comms tables."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock, crypto
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record
from incidentdesk.incidents import timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import incident_get_for
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS

from . import messages
from .ack_links import ack_url
from .keys import Unreadable, secrets_rekey
from .models import Channel, ChannelKind, Delivery, DeliveryState, Preference, Unsubscribe
from .tasks import deliver, deliver_many, delivery_lane
from .transports import OutgoingMessage, TransportError, transport_for
from .transports.apprise import check_url, redact

log = logging.getLogger("incidentdesk.comms")

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
KEY_MAX = 200
UNSUBSCRIBE_SALT = "incidentdesk.comms.unsubscribe"
# a fan-out is enqueued as tasks of this many deliveries each (one task per delivery would
# spend more time on the queue's bookkeeping than on sending)
TASK_BATCH = 25
# what appending a timeline entry reads and writes on the incident row
CHAIN_FIELDS = (
    "id", "timeline_seq", "timeline_head", "version", "updated_at", *timeline.DELIVERY_FIELDS
)  # fmt: skip


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


# -- queueing --------------------------------------------------------------------------------


def message_queue(
    *,
    channel: str,
    recipient: str,
    subject: str,
    body_markdown: str,
    key: str,
    incident: Incident | None = None,
    headers: dict[str, str] | None = None,
    payload: dict[str, Any] | None = None,
    secret: str | None = None,
    audience: str = "",
    user: User | None = None,
    trigger: str = "",
    context: dict[str, Any] | None = None,
) -> Delivery:
    """Queue one delivery in the caller's transaction and enqueue its worker task.

    Idempotent on `key`: a key already queued returns that delivery and queues nothing.
    `recipient` is an e-mail address, a webhook URL (with `payload`, signed with `secret`
    when given: "whsec_<base64>") or an Apprise URL. A recipient without an address is
    queued all the same and fails visibly with the reason.
    """
    if channel not in ChannelKind.values:
        raise field_error("channel", f"Channel is one of: {', '.join(ChannelKind.values)}.")
    if not key or len(key) > KEY_MAX:
        raise field_error("key", f"An idempotency key of 1 to {KEY_MAX} characters is required.")
    recipient = (recipient or "").strip()
    with transaction.atomic():
        existing = Delivery.objects.filter(key=key).first()
        if existing is not None:
            return existing
        delivery = Delivery(
            key=key,
            incident=incident,
            channel=channel,
            recipient=(recipient if channel == ChannelKind.EMAIL else _hint(channel, recipient)),
            address_encrypted=crypto.encrypt(recipient) if channel != ChannelKind.EMAIL else "",
            subject=subject[:300],
            body_markdown=body_markdown,
            headers=headers or {},
            payload=payload,
            secret_encrypted=crypto.encrypt(secret or ""),
            audience=audience,
            user=user,
            trigger=trigger,
            context=context or {},
        )
        _stamp(delivery)
        _enqueue(delivery)
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:
            return Delivery.objects.get(key=key)
    return delivery


def deliveries_queue_many(deliveries: list[Delivery]) -> int:
    """Queue planned deliveries whose keys are new; return how many were queued."""
    if not deliveries:
        return 0
    keys = [d.key for d in deliveries]
    existing: set[str] = set()
    for i in range(0, len(keys), 500):
        existing.update(
            Delivery.objects.filter(key__in=keys[i : i + 500]).values_list("key", flat=True)
        )
    fresh = [d for d in deliveries if d.key not in existing]
    for batch in _batches(fresh):
        task_id = _enqueue_many(batch)
        for delivery in batch:
            _stamp(delivery)
            delivery.task_id = task_id
    _insert_many(fresh)
    return len(fresh)


def _insert_many(deliveries: list[Delivery]) -> None:
    """bulk_create, minus the ORM's per-value compilation: one prepared INSERT run with
    executemany. A public update to 10,000 contacts queues 10,000 rows inside the poster's
    transaction, where the ORM's bulk_create spent most of the time building SQL."""
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    conn = connections[Delivery.objects.db]
    table = conn.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column or f.attname) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # text, numbers and keys go to the driver as they are; only these need adapting
    adapted = {"JSONField", "DateTimeField", "UUIDField"}
    prep = [f.get_internal_type() in adapted for f in fields]
    names = [f.attname for f in fields]
    rows = [
        [
            fields[i].get_db_prep_save(getattr(d, name), conn) if prep[i] else getattr(d, name)
            for i, name in enumerate(names)
        ]
        for d in deliveries
    ]
    with conn.cursor() as cursor:
        for i in range(0, len(rows), 1000):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                rows[i : i + 1000],
            )


def _batches(deliveries: list[Delivery]) -> list[list[Delivery]]:
    """TASK_BATCH deliveries a task, each task in one lane."""
    by_lane: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_lane.setdefault(delivery_lane(delivery), []).append(delivery)
    return [
        group[i : i + TASK_BATCH]
        for group in by_lane.values()
        for i in range(0, len(group), TASK_BATCH)
    ]


def _enqueue_many(batch: list[Delivery]) -> Any:
    queue = delivery_lane(batch[0])
    return deliver_many.using(queue_name=queue).enqueue([d.key for d in batch]).id


def _stamp(delivery: Delivery) -> None:
    now = clock.now()
    delivery.created_at = now
    delivery.next_attempt_at = now
    delivery.state = DeliveryState.QUEUED


def _enqueue(delivery: Delivery, run_after: dt.datetime | None = None) -> None:
    queue = delivery_lane(delivery)
    task = deliver.using(queue_name=queue, run_after=run_after)
    delivery.task_id = task.enqueue(delivery.key).id


def _hint(channel: str, address: str) -> str:
    if not address:
        return ""
    # webhook and chat URLs often carry their credentials in the path: show the host only
    return address if channel == ChannelKind.EMAIL else redact(address)[:300]


# -- the worker's side -----------------------------------------------------------------------


def delivery_attempt(key: str) -> str:
    """Claim the delivery `key` under a lease, send it, record the outcome. Safe to call
    twice or concurrently: only the holder of the lease sends. Returns what happened."""
    outcomes = deliveries_attempt([key])
    return next(iter(outcomes)) if outcomes else "nothing to do"


def deliveries_attempt(keys: list[str]) -> dict[str, int]:
    """Attempt a batch of deliveries, as one worker task does for a fan-out: claim the due
    ones in one transaction, send each, and record the outcomes together (one incident lock
    and one write per incident rather than per delivery). The same guarantees as for one: only
    the holder of a lease sends, and a batch whose lease runs short stops sending and hands
    the rest to a task of their own. Returns how many were sent, failed, retried or skipped."""
    lease = dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    claimed = _claim(keys, lease)
    outcomes: dict[str, int] = {}

    def count(outcome: str, n: int = 1) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + n

    if len(claimed) < len(keys):
        count("nothing to do", len(keys) - len(claimed))
    # stop while half the lease is left: a send can take a connection timeout or two
    stop_at = time.monotonic() + lease.total_seconds() / 2
    finished: list[tuple[Delivery, bool, str]] = []
    for i, delivery in enumerate(claimed):
        if time.monotonic() >= stop_at:
            _hand_over(claimed[i:])
            count("handed over", len(claimed) - i)
            break
        outcome, note = _send(delivery)
        if outcome == "retry":
            count(_record_failure(delivery, note, permanent=False))
        else:
            finished.append((delivery, outcome == "sent", note))
            count(outcome)
    _record_outcomes(finished)
    return outcomes


def _claim(keys: list[str], lease: dt.timedelta) -> list[Delivery]:
    now = clock.now()
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    with transaction.atomic():
        # a delivery whose row another worker holds is being claimed or recorded by it
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimable, key__in=keys, state=DeliveryState.QUEUED, next_attempt_at__lte=now)
            .order_by("id")
        )
        if not claimed:
            return []
        until = now + lease
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            claimed_until=until, attempts=F("attempts") + 1
        )
    for delivery in claimed:
        delivery.claimed_until = until
        delivery.attempts += 1
    return claimed


# Receivers (webhook and chat hosts) that did not answer lately, in this worker process, and
# until when: deliveries to them wait for their retry rather than each spending a timeout, so
# one unreachable receiver costs its lane one timeout a minute, not one per delivery.
_unanswering: dict[str, float] = {}
RECEIVER_PAUSE_SECONDS = 60.0


def _receiver(channel: str, address: str) -> str:
    if channel == ChannelKind.EMAIL:
        return ""
    return urlsplit(address).netloc.rsplit("@", 1)[-1].lower()


def _send(delivery: Delivery) -> tuple[str, str]:
    """("sent" | "failed" | "retry", the transport's note or the error)."""
    receiver = ""
    try:
        message = _message(delivery)
        receiver = _receiver(delivery.channel, message.address)
        if receiver and _unanswering.get(receiver, 0.0) > time.monotonic():
            raise TransportError(f"{receiver} did not answer a moment ago; tried again later")
        return "sent", transport_for(delivery.channel).send(message)
    except TransportError as exc:
        if exc.unreachable and receiver:
            _unanswering[receiver] = time.monotonic() + RECEIVER_PAUSE_SECONDS
        final = exc.permanent or delivery.attempts >= MAX_ATTEMPTS
        return ("failed" if final else "retry"), str(exc)
    except (messages.RenderError, ValueError) as exc:
        return "failed", str(exc)
    except Exception as exc:
        log.exception("delivery %s failed unexpectedly", delivery.pk)
        final = delivery.attempts >= MAX_ATTEMPTS
        return ("failed" if final else "retry"), f"unexpected error: {exc}"


def _hand_over(rest: list[Delivery]) -> None:
    """Release deliveries claimed but not attempted, under a task of their own."""
    with transaction.atomic():
        for batch in _batches(rest):
            task_id = _enqueue_many(batch)
            for delivery in batch:
                Delivery.objects.filter(
                    pk=delivery.pk,
                    state=DeliveryState.QUEUED,
                    claimed_until=delivery.claimed_until,
                ).update(claimed_until=None, attempts=F("attempts") - 1, task_id=task_id)


def _message(delivery: Delivery) -> OutgoingMessage:
    address = (
        delivery.recipient
        if delivery.channel == ChannelKind.EMAIL
        else crypto.decrypt(delivery.address_encrypted)
    )
    if delivery.channel_config_id is not None:
        channel = Channel.objects.get(pk=delivery.channel_config_id)
        address = crypto.decrypt(channel.url_encrypted)
        secret = crypto.decrypt(channel.secret_encrypted)
    else:
        secret = crypto.decrypt(delivery.secret_encrypted)
    if not address:
        who = delivery.user.email if delivery.user else delivery.audience or "the recipient"
        raise TransportError(f"{who} has no address for {delivery.channel}", permanent=True)
    subject, body = delivery.subject, delivery.body_markdown
    if delivery.template:
        if delivery.channel_config_id is not None and channel.template:
            subject, body = messages.render_text(channel.template, delivery.context)
        else:
            subject, body = messages.render(delivery.template, delivery.context)
    ack_link = delivery.context.get("ack_link")
    if ack_link:
        # signed when sent, so the stored body holds nothing that acknowledges
        body += f"\n\n[Acknowledge]({ack_url(int(ack_link))}) (one use, no login needed)"
    unsubscribe = None
    if delivery.context.get("unsubscribe") and delivery.channel == ChannelKind.EMAIL:
        unsubscribe = unsubscribe_url(address)
    payload = delivery.payload
    if payload is None and delivery.channel == ChannelKind.WEBHOOK and delivery.incident_id:
        payload = {
            "type": f"incident.{delivery.trigger or 'message'}",
            "timestamp": clock.now().isoformat(),
            "data": {
                "incident": delivery.context.get("incident", {}).get("ref"),
                "title": delivery.context.get("incident", {}).get("title"),
                "subject": subject,
                "body": body,
            },
        }
    return OutgoingMessage(
        key=delivery.key,
        address=address,
        subject=subject,
        body_markdown=body,
        incident_ref=f"INC-{delivery.incident_id}" if delivery.incident_id else None,
        headers=dict(delivery.headers),
        payload=payload,
        secret=secret,
        unsubscribe_url=unsubscribe,
    )


def _record_failure(delivery: Delivery, error: str, *, permanent: bool) -> str:
    if permanent or delivery.attempts >= MAX_ATTEMPTS:
        _record_outcomes([(delivery, False, error)])
        return "failed"
    with transaction.atomic():
        fresh = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if fresh.state != DeliveryState.QUEUED:
            return fresh.state
        fresh.last_error = error[:2000]
        fresh.claimed_until = None
        fresh.next_attempt_at = clock.now() + backoff(fresh.attempts)
        _enqueue(fresh, run_after=fresh.next_attempt_at)
        fresh.save(update_fields=["last_error", "claimed_until", "next_attempt_at", "task_id"])
    return "retry"


def _record_outcomes(finished: list[tuple[Delivery, bool, str]]) -> None:
    """Final states, each with its timeline entry on its incident: one transaction per
    incident for the whole batch. The deliveries' rows are the batch's own (it holds their
    lease), so their states are written first; the incident's row lock, which every worker
    sending to that incident needs, is held only for one INSERT of the entries and one UPDATE
    of the chain's head. A delivery another attempt recorded first is left as it is."""
    by_incident: dict[int | None, list[tuple[Delivery, bool, str]]] = {}
    for item in finished:
        by_incident.setdefault(item[0].incident_id, []).append(item)
    for incident_id, items in by_incident.items():
        with transaction.atomic():
            recorded = _record_states(items)
            if incident_id is None or not recorded:
                continue
            incident = Incident.objects.select_for_update().only(*CHAIN_FIELDS).get(pk=incident_id)
            timeline.append_many(incident, [_outcome_entry(*item) for item in recorded])
            incident.save(update_fields=list(CHAIN_FIELDS[1:]))


def _record_states(
    items: list[tuple[Delivery, bool, str]],
) -> list[tuple[Delivery, bool, str]]:
    """Write the final states of the deliveries still queued (locked until the caller's
    transaction ends); returns those, in order."""
    queued = set(
        Delivery.objects.select_for_update()
        .filter(pk__in=[d.pk for d, _, _ in items], state=DeliveryState.QUEUED)
        .values_list("pk", flat=True)
    )
    recorded = [item for item in items if item[0].pk in queued]
    now = clock.now()
    sent = [d.pk for d, ok, _ in recorded if ok]
    if sent:
        Delivery.objects.filter(pk__in=sent).update(
            state=DeliveryState.SENT, claimed_until=None, sent_at=now, last_error=""
        )
    for delivery, ok, note in recorded:
        if not ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.FAILED, claimed_until=None, sent_at=None, last_error=note[:2000]
            )
    return recorded


def _outcome_entry(delivery: Delivery, sent: bool, note: str) -> tuple[str, dict[str, Any]]:
    data = {
        "trigger": delivery.trigger or None,
        "audience": delivery.audience or None,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "delivery": delivery.pk,
        "attempts": delivery.attempts,
    }
    data["note" if sent else "error"] = note[:500]
    return ("delivered" if sent else "delivery_failed"), data


def deliveries_sweep() -> int:
    """Re-enqueue queued deliveries that no live task will pick up: those whose lease ran
    out (the worker died mid-send) and those whose task is neither waiting nor running
    within the lease (the worker died before claiming them). The task queue may keep a
    killed task "running" for ever; the delivery row is the truth. A delivery enqueued twice
    is still sent once: sending needs its lease. Returns how many were re-enqueued."""
    from django_tasks_db.models import DBTaskResult

    now = clock.now()
    lease = dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    busy = DBTaskResult.objects.filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gte=now - lease)
    ).values("id")
    stuck = Delivery.objects.filter(state=DeliveryState.QUEUED).filter(
        Q(claimed_until__lt=now)
        | Q(claimed_until__isnull=True, next_attempt_at__lt=now - lease) & ~Q(task_id__in=busy)
    )
    swept = 0
    for pk in list(stuck.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update()
                .filter(pk=pk, state=DeliveryState.QUEUED)
                .first()
            )
            if delivery is None:
                continue
            delivery.claimed_until = None
            delivery.next_attempt_at = min(delivery.next_attempt_at, now)
            _enqueue(delivery)
            delivery.save(update_fields=["claimed_until", "next_attempt_at", "task_id"])
            swept += 1
    if swept:
        log.warning("re-enqueued %d deliveries whose worker stopped or stalled", swept)
    return swept


# -- actions of people -----------------------------------------------------------------------


def delivery_retry(*, by: User, delivery_id: int) -> Delivery:
    """Queue a failed delivery again, now."""
    require(by, "comms.retry")
    with transaction.atomic():
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id}.")
        incident = None
        if delivery.incident_id is not None:
            incident = incident_get_for(by, f"INC-{delivery.incident_id}", for_update=True)
        else:
            require(by, "comms.deliveries")
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state != DeliveryState.FAILED:
            raise Conflict(f"Delivery {delivery.pk} is {delivery.state}: only failed ones retry.")
        previous_error = delivery.last_error
        delivery.state = DeliveryState.QUEUED
        delivery.attempts = 0
        delivery.claimed_until = None
        delivery.next_attempt_at = clock.now()
        _enqueue(delivery)
        delivery.save()
        data = {
            "delivery": delivery.pk,
            "channel": delivery.channel,
            "recipient": delivery.recipient,
            "trigger": delivery.trigger or None,
            "previous_error": previous_error[:500],
        }
        if incident is not None:
            timeline.append(incident, kind="delivery_retried", by=by, data=data)
            incident.save()
        else:
            audit_record(by=by, kind="delivery_retried", data=data)
    return delivery


# -- after a restore ------------------------------------------------------------------------

RELEASE_HINT = "release them with 'incidentdesk deliveries release' when this copy may send"


def deliveries_hold(*, source: str) -> int:
    """Hold every queued delivery, as a restore does: the machine the backup came from may
    have sent them already, and a restore drill must not reach real people. Returns how many
    were held; they wait for `deliveries_release`."""
    with transaction.atomic():
        held = Delivery.objects.filter(state=DeliveryState.QUEUED).update(
            state=DeliveryState.HELD, claimed_until=None, task_id=None
        )
        if held:
            audit_record(by=None, kind="deliveries_held", data={"count": held, "source": source})
    return held


def deliveries_release(*, by: User | None) -> int:
    """Queue every held delivery again, due now. `by` None: the operator at the command line.
    Returns how many were released."""
    if by is not None:
        require(by, "comms.deliveries")
    with transaction.atomic():
        held = list(
            Delivery.objects.select_for_update()
            .filter(state=DeliveryState.HELD)
            .order_by("id")
            .only("id", "key", "channel", "audience", "user_id")
        )
        keys = [d.key for d in held]
        now = clock.now()
        for batch in _batches(held):
            Delivery.objects.filter(
                key__in=[d.key for d in batch], state=DeliveryState.HELD
            ).update(
                state=DeliveryState.QUEUED,
                next_attempt_at=now,
                claimed_until=None,
                task_id=_enqueue_many(batch),
            )
        if keys:
            audit_record(by=by, kind="deliveries_released", data={"count": len(keys)})
    return len(keys)


def secrets_reencrypt(*, by: User | None) -> Unreadable:
    """Re-encrypt every stored secret under the current INCIDENTDESK_SECRET_KEY, reading those
    stored under a key of INCIDENTDESK_SECRET_KEY_FALLBACKS: the last step of rotating the key.
    `by` None: the operator at the command line. Returns what no key decrypts."""
    if by is not None:
        require(by, "channel.manage")
    with transaction.atomic():
        unreadable = secrets_rekey([])
        audit_record(
            by=by,
            kind="secrets_reencrypted",
            data={
                "unreadable_channels": unreadable.channels,
                "unreadable_people": unreadable.people,
                "unreadable_deliveries": unreadable.deliveries,
            },
        )
    return unreadable


# -- unsubscribe -----------------------------------------------------------------------------


def unsubscribe_token(email: str) -> str:
    return signing.dumps({"e": email.lower()}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(email: str) -> str:
    return f"{settings.BASE_URL}/comms/unsubscribe/{unsubscribe_token(email)}"


def unsubscribe_email_of(token: str) -> str:
    try:
        return str(signing.loads(token, salt=UNSUBSCRIBE_SALT)["e"])
    except (signing.BadSignature, KeyError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None


def unsubscribe_apply(*, token: str) -> str:
    """Stop stakeholder mail to the address in a signed link. Needs no login: the
    signature is the proof. Returns the address."""
    email = unsubscribe_email_of(token)
    with transaction.atomic():
        _, created = Unsubscribe.objects.get_or_create(email=email, defaults={"at": clock.now()})
        if created:
            audit_record(by=None, kind="unsubscribed", data={"email": email})
    return email


# -- channels --------------------------------------------------------------------------------

AUDIENCES = ("manager", "team", "assignee", "reporter", "stakeholders", "subscribers")


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_channel(
    kind: str, name: str, url: str, audiences: list[str], template: str
) -> list[FieldError]:
    errors = []
    if not name.strip() or len(name.strip()) > 100:
        errors.append(FieldError("name", "A name of 1 to 100 characters is required."))
    if kind == ChannelKind.WEBHOOK:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(FieldError("url", "A webhook URL starts with https:// (or http://)."))
    elif kind == ChannelKind.APPRISE:
        problem = check_url(url)
        if problem:
            errors.append(FieldError("url", problem))
    else:
        errors.append(FieldError("kind", "Kind is webhook or apprise."))
    unknown = [a for a in audiences if a not in AUDIENCES]
    if not audiences or unknown:
        errors.append(FieldError("audiences", f"Audiences are some of: {', '.join(AUDIENCES)}."))
    problem = messages.check_text(template)
    if problem:
        errors.append(FieldError("template", problem))
    return errors


def channel_create(
    *,
    by: User,
    name: str,
    kind: str,
    url: str,
    audiences: list[str],
    template: str = "",
    secret: str | None = None,
) -> tuple[Channel, str]:
    """Create a channel; returns it with its webhook signing secret (shown once)."""
    require(by, "channel.manage")
    url = (url or "").strip()
    errors = _check_channel(kind, name, url, audiences, template)
    if Channel.objects.filter(name=name.strip()).exists():
        errors.append(FieldError("name", f"A channel named {name.strip()!r} exists already."))
    if kind == ChannelKind.WEBHOOK and secret is not None and not secret.startswith("whsec_"):
        errors.append(FieldError("secret", "A signing secret looks like whsec_<base64>."))
    if errors:
        raise InvalidInput("The channel was not saved.", errors)
    secret = (secret or new_webhook_secret()) if kind == ChannelKind.WEBHOOK else ""
    now = clock.now()
    with transaction.atomic():
        channel = Channel.objects.create(
            name=name.strip(),
            kind=kind,
            url_encrypted=crypto.encrypt(url),
            url_hint=_hint(kind, url),
            secret_encrypted=crypto.encrypt(secret),
            audiences=list(dict.fromkeys(audiences)),
            template=template.strip(),
            created_at=now,
            updated_at=now,
        )
        audit_record(
            by=by,
            kind="channel_created",
            data={"channel": channel.pk, "name": channel.name, "kind": kind},
        )
    return channel, secret


def channel_update(
    *,
    by: User,
    channel_id: int,
    name: str | None = None,
    url: str | None = None,
    audiences: list[str] | None = None,
    template: str | None = None,
    active: bool | None = None,
) -> Channel:
    require(by, "channel.manage")
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            raise NotFound(f"No channel {channel_id}.")
        new_name = name.strip() if name is not None else channel.name
        if url is None:
            try:
                url = crypto.decrypt(channel.url_encrypted)
            except ValueError:
                raise field_error(
                    "url",
                    "This channel's URL cannot be decrypted here (it was stored under another "
                    "secret key): enter it again.",
                ) from None
        new_url = url.strip()
        new_audiences = audiences if audiences is not None else channel.audiences
        new_template = template if template is not None else channel.template
        errors = _check_channel(channel.kind, new_name, new_url, new_audiences, new_template)
        if Channel.objects.filter(name=new_name).exclude(pk=channel.pk).exists():
            errors.append(FieldError("name", f"A channel named {new_name!r} exists already."))
        if errors:
            raise InvalidInput("The channel was not saved.", errors)
        channel.name = new_name
        channel.url_encrypted = crypto.encrypt(new_url)
        channel.url_hint = _hint(channel.kind, new_url)
        channel.audiences = list(dict.fromkeys(new_audiences))
        channel.template = new_template.strip()
        if active is not None:
            channel.active = active
        channel.updated_at = clock.now()
        channel.save()
        audit_record(
            by=by, kind="channel_updated", data={"channel": channel.pk, "name": channel.name}
        )
    return channel


def channel_delete(*, by: User, channel_id: int) -> None:
    require(by, "channel.manage")
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            raise NotFound(f"No channel {channel_id}.")
        audit_record(
            by=by, kind="channel_deleted", data={"channel": channel.pk, "name": channel.name}
        )
        channel.delete()


# -- preferences -----------------------------------------------------------------------------

PERSON_CHANNELS = (ChannelKind.EMAIL, ChannelKind.APPRISE)


def preference_set(*, by: User, muted: list[str], apprise_url: str | None = None) -> Preference:
    """Set which (trigger, channel) pairs `by` does not want: "resolved:email", ...; and
    their own Apprise URL ("" removes it, None keeps it)."""
    require(by, "preference.edit_own")
    errors = []
    clean: list[str] = []
    for i, item in enumerate(muted):
        trigger, _, channel = item.partition(":")
        if trigger not in NOTIFICATION_TRIGGERS or channel not in PERSON_CHANNELS:
            errors.append(
                FieldError(
                    f"muted.{i}",
                    f"{item!r} is not trigger:channel (triggers: {', '.join(NOTIFICATION_TRIGGERS)}; "
                    f"channels: {', '.join(PERSON_CHANNELS)}).",
                )
            )
        elif item not in clean:
            clean.append(item)
    if apprise_url:
        problem = check_url(apprise_url.strip())
        if problem:
            errors.append(FieldError("apprise_url", problem))
    if errors:
        raise InvalidInput("Your preferences were not saved.", errors)
    with transaction.atomic():
        pref, _ = Preference.objects.select_for_update().get_or_create(
            user=by, defaults={"updated_at": clock.now()}
        )
        pref.muted = sorted(clean)
        if apprise_url is not None:
            pref.apprise_url_encrypted = crypto.encrypt(apprise_url.strip())
            pref.apprise_url_hint = redact(apprise_url.strip()) if apprise_url.strip() else ""
        pref.updated_at = clock.now()
        pref.save()
        audit_record(
            by=by,
            kind="preferences_changed",
            data={"muted": pref.muted, "apprise": bool(pref.apprise_url_encrypted)},
        )
    return pref
