"""Subscribers to the public page: e-mail (double opt-in) and webhooks (Statuspage-style
JSON), optionally for some components only. Messages go out through the communication
engine (`comms.services.message_queue`), which retries and records every delivery.

Every ask to subscribe, or to change a subscription, is a `SubscriptionRequest` that applies
only when the link sent to the address is followed (for a webhook, POSTed to its URL with the
secret its notices are then signed with), and is answered alike whether the address was
subscribed or not. Asks are limited per client and hour, confirmations per address and hour.

Links in mails are signed, not stored: a confirmation link is valid for two days, an
unsubscribe link for as long as the subscription exists."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from incidentdesk.comms.routing import Subscriber as PlanSubscriber
from incidentdesk.comms.services import message_queue, new_webhook_secret
from incidentdesk.comms.tasks import SUBSCRIBERS_AUDIENCE
from incidentdesk.comms.transports import TransportError, guard
from incidentdesk.core import clock, crypto
from incidentdesk.core.errors import (
    FieldError,
    InvalidInput,
    NotFound,
    RateLimited,
    field_error,
)
from incidentdesk.core.services import audit_record
from incidentdesk.incidents.models import Incident

from . import selectors
from .api_v2 import component_json, incident_json, maintenance_json, meta_json, ts
from .models import (
    Component,
    ComponentStatusChange,
    IncidentComponent,
    Maintenance,
    Publication,
    Subscriber,
    SubscriberKind,
    SubscriptionRequest,
)
from .selectors import page_name
from .services.components import component_get

CONFIRM_SALT = "statuspage.confirm"
UNSUBSCRIBE_SALT = "statuspage.unsubscribe"
CONFIRM_MAX_AGE = dt.timedelta(days=2)
RESEND_AFTER = dt.timedelta(hours=1)
ADDRESS_MAX = 254
URL_MAX = 500


# -- links -----------------------------------------------------------------------------------


def confirm_token(request: SubscriptionRequest) -> str:
    return signing.dumps(request.pk, salt=CONFIRM_SALT, compress=True)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.dumps([subscriber.pk, subscriber.token_digest[:8]], salt=UNSUBSCRIBE_SALT)


def _link(path: str) -> str:
    return settings.BASE_URL + path


def unsubscribe_url(subscriber: Subscriber) -> str:
    return _link(f"/status/subscriptions/unsubscribe/{unsubscribe_token(subscriber)}/")


# -- validation ------------------------------------------------------------------------------


def clean_email(address: str) -> str:
    address = (address or "").strip().lower()
    if not address:
        raise field_error("email", "An e-mail address is required.")
    if len(address) > ADDRESS_MAX:
        raise field_error("email", f"At most {ADDRESS_MAX} characters.")
    try:
        validate_email(address)
    except ValidationError:
        raise field_error("email", f"{address!r} is not an e-mail address.") from None
    return address


def clean_webhook_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise field_error("url", "A webhook URL is required.")
    if len(url) > URL_MAX:
        raise field_error("url", f"At most {URL_MAX} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise field_error("url", "A webhook URL starts with https:// (or http://).")
    if not parts.hostname:
        raise field_error("url", "A webhook URL names a host.")
    if parts.username or parts.password:
        raise field_error("url", "Put no user name or password in a webhook URL.")
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise field_error("url", "The port of this URL is not a number from 1 to 65535.") from None
    try:
        # checked again on every delivery, after resolution; this only answers early
        guard.resolve(parts.hostname, parts.port or 443)
    except guard.AddressRefused as exc:
        raise field_error("url", str(exc)) from None
    except TransportError:
        pass  # a name that does not resolve yet may later; each delivery checks it
    return url


def _components(ids: list[int | str] | None) -> list[Component]:
    found: list[Component] = []
    for ref in ids or []:
        try:
            found.append(component_get(ref))
        except NotFound as exc:
            raise field_error("components", exc.detail) from None
    return found


# -- subscribing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    """What the asker gets back: the same whether the address was new, pending or already
    subscribed. `handle` (shown once) names the subscription once the link is followed."""

    request: SubscriptionRequest
    handle: str


def client_digest(ip: str) -> str:
    return _digest(ip) if ip else ""


def _rate_check(client: str) -> None:
    """At most STATUSPAGE_SUBSCRIBE_PER_HOUR asks an hour from one client (IP address), for
    any addresses; one address hears at most one confirmation an hour, from any client."""
    if not client:
        return
    limit = settings.STATUSPAGE_SUBSCRIBE_PER_HOUR
    since = clock.now() - dt.timedelta(hours=1)
    if SubscriptionRequest.objects.filter(client=client, created_at__gte=since).count() >= limit:
        raise RateLimited(
            f"At most {limit} subscription requests an hour are accepted from one address; "
            "try again in an hour."
        )


def subscribe_email(
    *, email: str, components: list[int | str] | None = None, client: str = ""
) -> Requested:
    """Anyone may ask; nothing is sent but one confirmation mail per address and hour, and
    nothing changes until the link in it is followed."""
    return _ask(SubscriberKind.EMAIL, clean_email, email, components, client)


def subscribe_webhook(
    *, url: str, components: list[int | str] | None = None, client: str = ""
) -> Requested:
    """A webhook subscriber: its URL is sent a confirmation (the link to follow and the
    secret its notices will be signed with); nothing else goes there until it is followed."""
    return _ask(SubscriberKind.WEBHOOK, clean_webhook_url, url, components, client)


def _ask(
    kind: str,
    clean_target: Callable[[str], str],
    target: str,
    components: list[int | str] | None,
    client: str,
) -> Requested:
    """Checks the address and the components together, naming every problem at once."""
    errors: list[FieldError] = []
    cleaned = ""
    targets: list[Component] = []
    try:
        cleaned = clean_target(target)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        targets = _components(components)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The subscription was not made.", errors)
    return _request(kind, cleaned, targets, client)


def _request(kind: str, address: str, targets: list[Component], client: str) -> Requested:
    client = client_digest(client)
    _rate_check(client)
    handle = "sps_" + secrets.token_urlsafe(24)
    secret = new_webhook_secret() if kind == SubscriberKind.WEBHOOK else ""
    now = clock.now()
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            kind=kind,
            address=address,
            defaults={"created_at": now, "token_digest": _new_digest()},
        )
        sent_at = subscriber.confirmation_sent_at
        send = sent_at is None or now - sent_at >= RESEND_AFTER
        request = SubscriptionRequest.objects.create(
            subscriber=subscriber,
            handle_digest=_digest(handle),
            components=[c.pk for c in targets],
            secret_encrypted=crypto.encrypt(secret) if secret else "",
            client=client,
            created_at=now,
            confirmation_sent=send,
        )
        if send:
            subscriber.confirmation_sent_at = now
            subscriber.save(update_fields=["confirmation_sent_at"])
            _queue_confirmation(subscriber, request, targets, secret)
        audit_record(
            by=None,
            kind="statuspage_subscription_requested",
            data={"kind": kind, "id": subscriber.pk, "request": request.pk, "new": created},
        )
    return Requested(request, handle)


def confirm(token: str) -> Subscriber:
    """Apply the request the link was sent for: subscribe, or change the components; the
    request's handle becomes the subscription's, and a webhook's secret the one it was sent."""
    try:
        pk = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        raise NotFound("This confirmation link is not valid (or older than two days).") from None
    with transaction.atomic():
        request = (
            SubscriptionRequest.objects.select_for_update()
            .select_related("subscriber")
            .filter(pk=pk)
            .first()
        )
        if request is None:
            raise NotFound("This subscription request no longer exists.")
        subscriber = Subscriber.objects.select_for_update().get(pk=request.subscriber_id)
        if request.confirmed_at is not None:
            return subscriber
        now = clock.now()
        request.confirmed_at = now
        request.save(update_fields=["confirmed_at"])
        if subscriber.confirmed_at is None or subscriber.unsubscribed_at is not None:
            subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.token_digest = request.handle_digest
        if subscriber.kind == SubscriberKind.WEBHOOK:
            subscriber.secret_encrypted = request.secret_encrypted
        subscriber.save()
        subscriber.components.set(Component.objects.filter(pk__in=request.components))
        audit_record(
            by=None,
            kind="statuspage_confirmed",
            data={"id": subscriber.pk, "request": request.pk, "components": request.components},
        )
    return subscriber


def subscriber_by_handle(handle: str) -> Subscriber:
    """The active subscription `handle` names; NotFound otherwise (also while its request
    is not confirmed)."""
    subscriber = (
        Subscriber.objects.filter(token_digest=_digest(handle or ""), unsubscribed_at=None)
        .exclude(confirmed_at=None)
        .prefetch_related("components")
        .first()
    )
    if subscriber is None:
        raise NotFound("No such subscription.")
    return subscriber


def unsubscribe(token: str) -> Subscriber:
    try:
        pk, digest = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None
    return _unsubscribe(Subscriber.objects.filter(pk=pk, token_digest__startswith=digest))


def unsubscribe_webhook(token: str) -> Subscriber:
    """End the subscription `token` (its handle) names."""
    return _unsubscribe(
        Subscriber.objects.filter(token_digest=_digest(token or "")).exclude(confirmed_at=None)
    )


def _unsubscribe(qs: Any) -> Subscriber:
    with transaction.atomic():
        subscriber = qs.select_for_update().first()
        if subscriber is None:
            raise NotFound("No such subscription.")
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = clock.now()
            subscriber.save(update_fields=["unsubscribed_at"])
            audit_record(by=None, kind="statuspage_unsubscribed", data={"id": subscriber.pk})
    return subscriber


def _new_digest() -> str:
    return _digest(secrets.token_urlsafe(24))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- sending ---------------------------------------------------------------------------------


def _queue(**kwargs: Any) -> None:
    message_queue(**kwargs)


def _footer(subscriber: Subscriber) -> str:
    return (
        f"\n\n---\nYou receive this because you subscribed to the {page_name()} status page "
        f"({selectors.base_url()}). Unsubscribe: {unsubscribe_url(subscriber)}"
    )


def _queue_confirmation(
    subscriber: Subscriber, request: SubscriptionRequest, targets: list[Component], secret: str
) -> None:
    link = _link(f"/status/subscriptions/confirm/{confirm_token(request)}/")
    which = ", ".join(c.name for c in targets) or "all components"
    subject = f"Confirm your subscription to the {page_name()} status page"
    payload: dict[str, Any] = {}
    if subscriber.kind == SubscriberKind.WEBHOOK:
        body = subject
        payload = {
            "meta": meta_json(),
            "subscription_confirmation": {
                "confirm_url": link,
                "secret": secret,
                "components": [str(c.pk) for c in targets],
                "expires_at": ts(request.created_at + CONFIRM_MAX_AGE),
            },
        }
    elif subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        body = (
            f"Someone, hopefully you, asked to change this address's subscription to the "
            f"{page_name()} status page to: {which}.\n\nConfirm the change: {link}\n\n"
            "If this was not you, ignore this mail: your subscription stays as it is."
        )
    else:
        body = (
            f"Someone, hopefully you, asked to receive the {page_name()} status page's "
            f"incident and maintenance notices ({which}) at this address.\n\n"
            f"Confirm: {link}\n\n"
            "If this was not you, ignore this mail: nothing more will be sent."
        )
    _send(
        subscriber,
        key=f"statuspage-confirm-{request.pk}",
        subject=subject,
        body=body,
        payload=payload,
        incident=None,
        secret=secret,
    )


def _audience(component_ids: set[int]) -> list[Subscriber]:
    """Confirmed subscribers to all components, or to any of `component_ids`."""
    result = []
    qs = Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
    for subscriber in qs.prefetch_related("components"):
        mine = {c.pk for c in subscriber.components.all()}
        if not mine or mine & component_ids:
            result.append(subscriber)
    return result


def plan_subscribers(sender: Any, incident: Incident, **kwargs: Any) -> list[PlanSubscriber]:
    """The communication plan's `subscribers` audience (a receiver of
    `comms.routing.subscribers_wanted`): the confirmed e-mail subscribers of the components the
    incident affects, or of every component. Only an incident the public page shows in full
    reaches them: an unpublished, withdrawn, summary-only or private one reaches nobody."""
    shown = Publication.objects.filter(
        incident=incident, withdrawn_at__isnull=True, summary_only=False
    ).exists()
    if incident.private or not shown:
        return []
    component_ids = set(
        IncidentComponent.objects.filter(incident=incident).values_list("component_id", flat=True)
    )
    return [
        PlanSubscriber(ident=str(s.pk), email=s.address)
        for s in _audience(component_ids)
        if s.kind == SubscriberKind.EMAIL
    ]


def _send(
    subscriber: Subscriber,
    *,
    key: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    incident: Any,
    secret: str | None = None,
) -> None:
    """Queue one message to `subscriber` under `key`: mail with the unsubscribe footer and
    header, or a webhook call with `payload`, signed with `secret` (the subscriber's own when
    None)."""
    if subscriber.kind == SubscriberKind.EMAIL:
        _queue(
            channel="email",
            recipient=subscriber.address,
            subject=subject,
            body_markdown=body + _footer(subscriber),
            key=key,
            headers={"List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>"},
            incident=incident,
            payload=None,
            secret="",
        )
    else:
        _queue(
            channel="webhook",
            audience=SUBSCRIBERS_AUDIENCE,
            recipient=subscriber.address,
            subject=subject,
            body_markdown=body,
            key=key,
            incident=incident,
            payload=payload,
            secret=secret
            if secret is not None
            else crypto.decrypt(subscriber.secret_encrypted)
            if subscriber.secret_encrypted
            else "",
        )


def incident_message(public: selectors.PublicIncident) -> tuple[str, str]:
    """(subject, Markdown body) of the mail that tells a subscriber of a published incident's
    newest post: only what the public page shows."""
    latest = public.posts[0] if public.posts else None
    subject = f"[{page_name()}] {public.name}: {public.status}"
    body = f"# {public.name}\n\nStatus: **{public.status}**\n\n"
    if latest is not None:
        body += f"{latest.body}\n\n"
    body += f"Details: {settings.BASE_URL}{public.permalink}"
    return subject, body


def subscribers_of(public: selectors.PublicIncident) -> int:
    """How many subscribers hear of `public`'s posts."""
    return len(_audience({c.pk for c, _ in public.components}))


def notify_incident(publication_id: int, event: str) -> int:
    """Tell the subscribers of a published incident's newest post. Runs in the worker after
    the action committed; reads only what the public page shows."""
    publication = Publication.objects.filter(pk=publication_id).first()
    public = selectors.incident_by_public_id(str(publication_id)) if publication else None
    if publication is None or public is None:
        return 0
    latest = public.posts[0] if public.posts else None
    component_ids = {c.pk for c, _ in public.components}
    subject, body = incident_message(public)
    payload = {
        "meta": meta_json(),
        "page": {
            "id": "incidentdesk",
            "status_indicator": public.impact,
            "status_description": public.status,
        },
        "incident": incident_json(public),
    }
    key = f"statuspage-incident-{publication_id}-{latest.id if latest else event}"
    sent = 0
    for subscriber in _audience(component_ids):
        _send(
            subscriber,
            key=f"{key}-{subscriber.pk}",
            subject=subject,
            body=body,
            payload=payload,
            incident=publication.incident if not publication.summary_only else None,
        )
        sent += 1
    return sent


def notify_maintenance(maintenance_id: int, event: str) -> int:
    maintenance = Maintenance.objects.filter(pk=maintenance_id).first()
    if maintenance is None:
        return 0
    component_ids = {c.pk for c in maintenance.components.all()}
    when = f"{maintenance.scheduled_for:%Y-%m-%d %H:%M %Z} to {maintenance.scheduled_until:%Y-%m-%d %H:%M %Z}"
    subject = f"[{page_name()}] Maintenance {event.replace('_', ' ')}: {maintenance.name}"
    body = f"# {maintenance.name}\n\nWindow: {when}\n\nStatus: **{maintenance.status}**\n\n{maintenance.body}"
    payload = {"meta": meta_json(), "incident": maintenance_json(maintenance)}
    sent = 0
    for subscriber in _audience(component_ids):
        _send(
            subscriber,
            key=f"statuspage-maintenance-{maintenance_id}-{event}-{subscriber.pk}",
            subject=subject,
            body=body,
            payload=payload,
            incident=None,
        )
        sent += 1
    return sent


def notify_component(change_id: int, old_status: str) -> int:
    """Tell webhook subscribers of a component's new status, in Statuspage's
    `component_update` shape. E-mail subscribers hear of the incident or maintenance behind
    it instead, in words."""
    change = ComponentStatusChange.objects.select_related("component").filter(pk=change_id).first()
    if change is None:
        return 0
    component = change.component
    items = selectors.components()
    indicator = selectors.overall_indicator(items, selectors.unresolved_incidents())
    payload = {
        "meta": meta_json(),
        "page": {
            "id": "incidentdesk",
            "status_indicator": indicator,
            "status_description": selectors.overall_description(indicator, items),
        },
        "component_update": {
            "id": str(change.pk),
            "component_id": str(component.pk),
            "created_at": ts(change.at),
            "old_status": old_status,
            "new_status": change.status,
        },
        "component": component_json(component, change.status),
    }
    subject = f"[{page_name()}] {component.name}: {change.get_status_display()}"
    sent = 0
    for subscriber in _audience({component.pk}):
        if subscriber.kind != SubscriberKind.WEBHOOK:
            continue
        _send(
            subscriber,
            key=f"statuspage-component-{change.pk}-{subscriber.pk}",
            subject=subject,
            body=subject,
            payload=payload,
            incident=None,
        )
        sent += 1
    return sent
