"""Reading the policy. A version's text never changes, so parsed policies are cached by hash."""

from __future__ import annotations

import functools

from django.core.exceptions import ImproperlyConfigured

from incidentdesk.core.compiled import Compiled

from . import loader
from .models import PolicyVersion
from .schema import Policy


@functools.lru_cache(maxsize=32)
def _parsed(content_hash: str) -> Policy:
    text = PolicyVersion.objects.values_list("text", flat=True).get(content_hash=content_hash)
    return loader.parse(text)


def policy_of(version: PolicyVersion) -> Policy:
    return _parsed(version.content_hash)


# read on every request that acts on an incident: built once per process (core/compiled.py)
_ACTIVE = Compiled(
    lambda: PolicyVersion.objects.filter(active=True).only("id", "content_hash").order_by("pk")[:1]
)


def active_version() -> PolicyVersion:
    """The active policy version. `incidentdesk init` loads the first one; none is a setup
    error, not something a read should repair by writing."""
    version = _ACTIVE.first()
    if version is None:
        raise ImproperlyConfigured("No policy is loaded: run `incidentdesk init` first.")
    return version


def active_policy() -> tuple[PolicyVersion, Policy]:
    version = active_version()
    return version, policy_of(version)


def second_factor_roles() -> frozenset[str]:
    """The roles the active policy requires a second factor of (none before a policy is
    loaded): registered with `accounts.factors` in this app's ready()."""
    version = _ACTIVE.first()
    if version is None:
        return frozenset()
    return frozenset(policy_of(version).identity.require_second_factor)
