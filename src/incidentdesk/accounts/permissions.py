"""Who may do what: the one permission table, role x action.

Services call `require(user, action)`; views ask `can(user, action)` to decide which
buttons to show. Visibility of a single incident (organisation, private flag) is decided in
`incidents.selectors.visible_incidents`.
"""

from __future__ import annotations

from typing import Any

from incidentdesk.core.errors import PermissionDenied

from .models import Role

A, MG, M, S = Role.ADMIN, Role.MANAGER, Role.MEMBER, Role.STAKEHOLDER
TEAM = frozenset({A, MG, M})
EVERYONE = frozenset({A, MG, M, S})

PERMISSIONS: dict[str, frozenset[str]] = {
    # incidents
    "incident.report": EVERYONE,
    "incident.view": EVERYONE,
    "incident.view_internal": TEAM,
    "incident.acknowledge": TEAM,
    "incident.categorize": TEAM,
    "incident.assign": frozenset({A, MG}),
    "incident.assign_self": TEAM,
    "incident.set_status": TEAM,
    "incident.note": TEAM,
    "incident.request_info": TEAM,
    "incident.provide_info": EVERYONE,
    "incident.post_update": TEAM,
    "incident.resolve": TEAM,
    "incident.close": frozenset({A, MG}),
    "incident.reject": TEAM,
    "incident.reopen": TEAM,
    "incident.task_update": TEAM,
    "queue.save_view": TEAM,
    # post-incident reviews, action items, insights
    "review.view": TEAM,
    "review.edit": TEAM,
    "review.comment": TEAM,
    "review.publish": TEAM,
    "review.waive": frozenset({A, MG}),
    "action.edit": TEAM,
    "insights.view": frozenset({A, MG}),
    "incident.export": TEAM,
    # policy
    "policy.view": TEAM,
    "policy.edit": frozenset({A, MG}),
    # people
    "user.manage": frozenset({A}),
    "org.manage": frozenset({A}),
    # identity providers added in the pages: the people who manage accounts
    "provider.manage": frozenset({A}),
    "token.create_own": EVERYONE,
    "audit.view": frozenset({A, MG}),
    # status page
    "statuspage.manage": frozenset({A, MG}),
    "statuspage.publish": TEAM,
    "statuspage.publish_summary": frozenset({A, MG}),
    "statuspage.link_components": TEAM,
    "statuspage.maintenance": TEAM,
    # stakeholder portal and e-mail intake
    "portal.use": frozenset({S}),
    "portal.join": frozenset({S}),
    "portal.comment": EVERYONE,
    "portal.attach": EVERYONE,
    "portal.follow": EVERYONE,
    "portal.held_mail": TEAM,
    "incident.merge": TEAM,
    "incident.link_organisation": TEAM,
    # communications: deliveries, channels, preferences
    "comms.view": TEAM,
    "comms.retry": TEAM,
    "comms.deliveries": frozenset({A, MG}),
    "channel.manage": frozenset({A}),
    "preference.edit_own": EVERYONE,
    # alert intake from monitoring
    "integration.view": TEAM,
    "integration.manage": frozenset({A, MG}),
    # on-call schedules
    "oncall.view": TEAM,
    "schedule.manage": frozenset({A, MG}),
    "schedule.override_self": TEAM,
    "oncall.test_page": TEAM,
}


def can(user: Any, action: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in PERMISSIONS[action]


def require(user: Any, action: str) -> None:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    if not can(user, action):
        raise PermissionDenied(f"Your role may not {action.split('.', 1)[1].replace('_', ' ')}.")
