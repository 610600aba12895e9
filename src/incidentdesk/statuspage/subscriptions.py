"""Subscribers to the public page: e-mail (double opt-in) and webhooks (Statuspage-style
JSON), optionally for some components only. Messages go out through the communication
engine (`comms.services.message_queue`), which retries and records every delivery.

Links in mails are signed, not stored: a confirmation link is valid for two days, an
unsubscribe link for as long as the subscription exists."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from incidentdesk.comms.transports import TransportError, guard
from incidentdesk.core import clock
from incidentdesk.core.errors import FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.services import audit_record

from . import selectors
from .models import (
    Component,
    ComponentStatusChange,
    Maintenance,
    Publication,
    Subscriber,
    SubscriberKind,
)
from .selectors import page_name
from .services import component_get

CONFIRM_SALT = "statuspage.confirm"
UNSUBSCRIBE_SALT = "statuspage.unsubscribe"
CONFIRM_MAX_AGE = dt.timedelta(days=2)
RESEND_AFTER = dt.timedelta(hours=1)
ADDRESS_MAX = 254
URL_MAX = 500


# -- links -----------------------------------------------------------------------------------


def confirm_token(subscriber: Subscriber) -> str:
    return signing.dumps(subscriber.pk, salt=CONFIRM_SALT, compress=True)


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


def subscribe_email(*, email: str, components: list[int | str] | None = None) -> Subscriber:
    """Anyone may ask; nothing is sent but one confirmation mail per address and hour, and
    nothing else until the link in it is followed."""
    errors: list[FieldError] = []
    try:
        address = clean_email(email)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        targets = _components(components)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The subscription was not made.", errors)
    now = clock.now()
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            kind=SubscriberKind.EMAIL,
            address=address,
            defaults={"created_at": now, "token_digest": _new_digest()},
        )
        if subscriber.unsubscribed_at is not None:
            subscriber.unsubscribed_at = None
            subscriber.confirmed_at = None
            subscriber.token_digest = _new_digest()
        subscriber.components.set(targets)
        recently = subscriber.confirmation_sent_at and now - subscriber.confirmation_sent_at < (
            RESEND_AFTER
        )
        if subscriber.confirmed_at is None and not recently:
            subscriber.confirmation_sent_at = now
            _queue_confirmation(subscriber)
        subscriber.save()
        if created:
            audit_record(
                by=None, kind="statuspage_subscribed", data={"kind": "email", "id": subscriber.pk}
            )
    return subscriber


def subscribe_webhook(
    *, url: str, email: str = "", components: list[int | str] | None = None
) -> tuple[Subscriber, str]:
    """A webhook subscriber; returns it and its token (shown once) that unsubscribes it."""
    errors: list[FieldError] = []
    for check in (lambda: clean_webhook_url(url), lambda: _components(components)):
        try:
            check()
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The subscription was not made.", errors)
    clean = clean_webhook_url(url)
    token = "sps_" + secrets.token_urlsafe(24)
    now = clock.now()
    with transaction.atomic():
        subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
            kind=SubscriberKind.WEBHOOK,
            address=clean,
            defaults={"created_at": now, "token_digest": _digest(token)},
        )
        subscriber.token_digest = _digest(token)
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.save()
        subscriber.components.set(_components(components))
        audit_record(
            by=None, kind="statuspage_subscribed", data={"kind": "webhook", "id": subscriber.pk}
        )
    return subscriber, token


def confirm(token: str) -> Subscriber:
    try:
        pk = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        raise NotFound("This confirmation link is not valid (or older than two days).") from None
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=pk).first()
        if subscriber is None or subscriber.unsubscribed_at is not None:
            raise NotFound("This subscription no longer exists.")
        if subscriber.confirmed_at is None:
            subscriber.confirmed_at = clock.now()
            subscriber.save(update_fields=["confirmed_at"])
            audit_record(by=None, kind="statuspage_confirmed", data={"id": subscriber.pk})
    return subscriber


def unsubscribe(token: str) -> Subscriber:
    try:
        pk, digest = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None
    return _unsubscribe(Subscriber.objects.filter(pk=pk, token_digest__startswith=digest))


def unsubscribe_webhook(token: str) -> Subscriber:
    return _unsubscribe(Subscriber.objects.filter(token_digest=_digest(token)))


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
    from incidentdesk.comms.services import message_queue

    message_queue(**kwargs)


def _footer(subscriber: Subscriber) -> str:
    return (
        f"\n\n---\nYou receive this because you subscribed to the {page_name()} status page "
        f"({selectors.base_url()}). Unsubscribe: {unsubscribe_url(subscriber)}"
    )


def _queue_confirmation(subscriber: Subscriber) -> None:
    link = _link(f"/status/subscriptions/confirm/{confirm_token(subscriber)}/")
    _queue(
        channel="email",
        recipient=subscriber.address,
        subject=f"Confirm your subscription to the {page_name()} status page",
        body_markdown=(
            f"Someone, hopefully you, asked to receive the {page_name()} status page's "
            f"incident and maintenance notices at this address.\n\nConfirm: {link}\n\n"
            "If this was not you, ignore this mail: nothing more will be sent."
            + _footer(subscriber)
        ),
        headers={"List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>"},
        key=f"statuspage-confirm-{subscriber.pk}-{clock.now().isoformat()}",
        incident=None,
        payload=None,
        secret="",
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


def _send(
    subscriber: Subscriber,
    *,
    key: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    incident: Any,
) -> None:
    if subscriber.kind == SubscriberKind.EMAIL:
        _queue(
            channel="email",
            recipient=subscriber.address,
            subject=subject,
            body_markdown=body + _footer(subscriber),
            key=f"{key}-{subscriber.pk}",
            headers={"List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>"},
            incident=incident,
            payload=None,
            secret="",
        )
    else:
        _queue(
            channel="webhook",
            recipient=subscriber.address,
            subject=subject,
            body_markdown=body,
            key=f"{key}-{subscriber.pk}",
            incident=incident,
            payload=payload,
            secret="",
        )


def notify_incident(publication_id: int, event: str) -> int:
    """Tell the subscribers of a published incident's newest post. Runs in the worker after
    the action committed; reads only what the public page shows."""
    from .api_v2 import incident_json, meta_json

    publication = Publication.objects.filter(pk=publication_id).first()
    public = selectors.incident_by_public_id(str(publication_id)) if publication else None
    if publication is None or public is None:
        return 0
    latest = public.posts[0] if public.posts else None
    component_ids = {c.pk for c, _ in public.components}
    subject = f"[{page_name()}] {public.name}: {public.status}"
    body = f"# {public.name}\n\nStatus: **{public.status}**\n\n"
    if latest is not None:
        body += f"{latest.body}\n\n"
    body += f"Details: {settings.BASE_URL}{public.permalink}"
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
            key=key,
            subject=subject,
            body=body,
            payload=payload,
            incident=publication.incident if not publication.summary_only else None,
        )
        sent += 1
    return sent


def notify_maintenance(maintenance_id: int, event: str) -> int:
    from .api_v2 import maintenance_json, meta_json

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
            key=f"statuspage-maintenance-{maintenance_id}-{event}",
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
    from .api_v2 import component_json, meta_json, ts

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
            key=f"statuspage-component-{change.pk}",
            subject=subject,
            body=subject,
            payload=payload,
            incident=None,
        )
        sent += 1
    return sent
