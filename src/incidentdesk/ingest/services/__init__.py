"""Every write of alert intake. Split by responsibility; re-exported here."""

from .integrations import (
    integration_create,
    integration_for_key,
    integration_list,
    integration_revoke,
)

__all__ = [
    "integration_create",
    "integration_for_key",
    "integration_list",
    "integration_revoke",
]
