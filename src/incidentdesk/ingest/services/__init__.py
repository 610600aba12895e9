"""Every write of alert intake. Split by responsibility; re-exported here."""

from .alerts import (
    KEY_REFUSED,
    AlertEvent,
    Outcome,
    alert_receive,
    alerts_receive,
    alerts_receive_batch,
    change_receive,
)
from .escalation import escalation_acknowledge
from .integrations import (
    integration_create,
    integration_for_key,
    integration_list,
    integration_revoke,
)
from .schedules import (
    may_override_for,
    override_create,
    schedule_add_layer,
    schedule_create,
    schedule_get,
)

__all__ = [
    "KEY_REFUSED",
    "AlertEvent",
    "Outcome",
    "alert_receive",
    "alerts_receive",
    "alerts_receive_batch",
    "change_receive",
    "escalation_acknowledge",
    "integration_create",
    "integration_for_key",
    "integration_list",
    "integration_revoke",
    "may_override_for",
    "override_create",
    "schedule_add_layer",
    "schedule_create",
    "schedule_get",
]
