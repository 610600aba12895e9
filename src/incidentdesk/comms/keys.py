"""The stored secrets as a whole (channel URLs and signing secrets, personal chat URLs,
authenticator apps' secrets, identity providers' client secrets, the addresses of deliveries): how many a backup holds, and re-encrypting every one of them under
this machine's key when a restore brings them from another.

Restore runs these inside its own transaction, over records it has just loaded: a bulk
re-encryption of what was already there, not an action of a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from incidentdesk.accounts.models import AuthenticatorApp, IdentityProvider
from incidentdesk.core import crypto

from .models import Channel, Delivery, Preference

SEALED: dict[type[models.Model], tuple[str, ...]] = {
    AuthenticatorApp: ("secret_encrypted",),
    IdentityProvider: ("client_secret_encrypted",),
    Channel: ("url_encrypted", "secret_encrypted"),
    Preference: ("apprise_url_encrypted",),
    Delivery: ("address_encrypted", "secret_encrypted"),
}


@dataclass
class Unreadable:
    """What no key at hand decrypts, left as stored: each fails when used, saying why."""

    channels: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    authenticators: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    deliveries: int = 0

    def __bool__(self) -> bool:
        return bool(
            self.channels or self.people or self.authenticators or self.providers or self.deliveries
        )

    def describe(self) -> str:
        parts = []
        if self.channels:
            parts.append(f"channels {', '.join(sorted(self.channels))}")
        if self.people:
            parts.append(f"the own chat URLs of {', '.join(sorted(self.people))}")
        if self.authenticators:
            parts.append(f"the authenticator apps of {', '.join(sorted(self.authenticators))}")
        if self.providers:
            parts.append(
                f"the client secrets of the identity providers {', '.join(sorted(self.providers))}"
            )
        if self.deliveries:
            parts.append(f"{self.deliveries} deliveries' addresses")
        return "; ".join(parts)


def _holding(model: type[models.Model]) -> models.QuerySet:
    holds = Q()
    for name in SEALED[model]:
        holds |= ~Q(**{name: ""})
    return model._default_manager.filter(holds)


def stored_count() -> int:
    """Rows that hold at least one secret."""
    return sum(_holding(model).count() for model in SEALED)


def secrets_rekey(extra: list[str]) -> Unreadable:
    """Re-encrypt every stored secret under this machine's key, read with this machine's keys
    or `extra` (a backup's). Returns what none of them decrypts."""
    return _scan(extra, write=True)


def secrets_unreadable() -> Unreadable:
    """What this machine's keys do not decrypt; writes nothing."""
    return _scan([], write=False)


def _scan(extra: list[str], *, write: bool) -> Unreadable:
    unreadable = Unreadable()
    for model, names in SEALED.items():
        # read before writing: SQLite cannot update rows under an open cursor on them
        rows = list(_holding(model).order_by("pk").values_list("pk", *names))
        for pk, *tokens in rows:
            changed: dict[str, str] = {}
            failed = False
            for name, token in zip(names, tokens, strict=True):
                try:
                    changed[name] = crypto.reencrypt(token, extra)
                except ValueError:
                    failed = True
            if changed and write:
                model._default_manager.filter(pk=pk).update(**changed)
            if failed:
                _note(unreadable, model, pk)
    return unreadable


def _note(unreadable: Unreadable, model: type[models.Model], pk: int) -> None:
    if model is AuthenticatorApp:
        unreadable.authenticators.append(AuthenticatorApp.objects.get(pk=pk).user.email)
    elif model is IdentityProvider:
        unreadable.providers.append(repr(IdentityProvider.objects.get(pk=pk).name))
    elif model is Channel:
        unreadable.channels.append(repr(Channel.objects.get(pk=pk).name))
    elif model is Preference:
        unreadable.people.append(Preference.objects.select_related("user").get(pk=pk).user.email)
    else:
        unreadable.deliveries += 1
