"""Who a company's identity provider lets in, and as what.

`INCIDENTDESK_OIDC_ROLE_MAP` maps values of the provider's roles claim (its groups, by default)
to IncidentDesk roles: ``"incident-managers=manager,helpdesk=member,contoso=stakeholder:Contoso"``.
A stakeholder value names the organisation after a colon. A person in several mapped groups
gets the widest role; a person in none is let in as nothing. This module reads text only, so
settings can check the map when the process starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The widest first: a person in "managers" and "helpdesk" is a manager.
ROLE_ORDER = ("admin", "manager", "member", "stakeholder")


class RoleMapError(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    role: str
    organisation: str | None = None


def parse(text: str) -> tuple[tuple[str, Grant], ...]:
    """The map's entries in the order written; a clear error for any entry it cannot read."""
    entries: list[tuple[str, Grant]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        value, sep, target = item.rpartition("=")
        value, target = value.strip(), target.strip()
        if not sep or not value or not target:
            raise RoleMapError(f"{item!r} is not 'claim value=role' (e.g. 'helpdesk=member').")
        role, _, organisation = target.partition(":")
        role, organisation = role.strip(), organisation.strip()
        if role not in ROLE_ORDER:
            raise RoleMapError(
                f"{item!r} names the role {role!r}; roles are {', '.join(ROLE_ORDER)}."
            )
        if role == "stakeholder" and not organisation:
            raise RoleMapError(
                f"{item!r}: a stakeholder belongs to an organisation: 'value=stakeholder:Name'."
            )
        if organisation and role != "stakeholder":
            raise RoleMapError(f"{item!r}: only stakeholders belong to an organisation.")
        entries.append((value, Grant(role, organisation or None)))
    return tuple(entries)


def claim_values(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The roles claim's values: a list, or one string (some providers send one group)."""
    value: Any = claims
    # Dotted names reach nested claims, as Keycloak's `realm_access.roles`.
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if isinstance(v, (str, int))]
    return []


def grant_for(
    claims: Mapping[str, Any], claim: str, entries: tuple[tuple[str, Grant], ...]
) -> Grant | None:
    """The widest grant among the person's mapped claim values, or None when none maps."""
    values = set(claim_values(claims, claim))
    granted = [grant for value, grant in entries if value in values]
    if not granted:
        return None
    return min(granted, key=lambda grant: ROLE_ORDER.index(grant.role))
