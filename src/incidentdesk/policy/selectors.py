"""Reading the policy. A version's text never changes, so parsed policies are cached by hash."""

from __future__ import annotations

import functools

from . import loader
from .models import PolicyVersion
from .schema import Policy


@functools.lru_cache(maxsize=32)
def _parsed(content_hash: str) -> Policy:
    text = PolicyVersion.objects.values_list("text", flat=True).get(content_hash=content_hash)
    return loader.parse(text)


def policy_of(version: PolicyVersion) -> Policy:
    return _parsed(version.content_hash)


def active_version() -> PolicyVersion:
    version = PolicyVersion.objects.filter(active=True).only("id", "content_hash").first()
    if version is None:
        from .services import policy_sync_from_file

        version = policy_sync_from_file()
    return version


def active_policy() -> tuple[PolicyVersion, Policy]:
    version = active_version()
    return version, policy_of(version)
