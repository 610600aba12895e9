"""Timeline entry -> deliveries: the policy's communication plan applied to one entry.

Runs inside the transaction that appended the entry, so the action and the messages it
causes commit or roll back together. Private incidents never reach stakeholders or
subscribers; internal notes are no trigger at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.dispatch import Signal

from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.core import crypto
from incidentdesk.core.compiled import Compiled
from incidentdesk.incidents.kinds import Audience, entry_view
from incidentdesk.incidents.models import Incident, TimelineEntry
from incidentdesk.incidents.selectors import policy_for
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS, NotificationRule, Policy

from .messages import render
from .models import Channel, ChannelKind, Delivery, Preference, Unsubscribe
from .services import deliveries_queue_many
from .updates import public_title

EXTERNAL_AUDIENCES = frozenset({"stakeholders", "subscribers"})
PERSON_CHANNELS = frozenset({ChannelKind.EMAIL, ChannelKind.APPRISE})


@dataclass(frozen=True)
class Subscriber:
    """A status-page subscriber: `ident` is stable (it is part of the idempotency key)."""

    ident: str
    email: str


subscribers_wanted = Signal()
"""Sent with `incident` when a rule of the plan names the `subscribers` audience. The app that
keeps subscribers (the status page) answers with a list of `Subscriber`: the ones who should
hear of this incident."""


def on_entry_appended(sender: Any, incident: Incident, entry: TimelineEntry, **kwargs: Any) -> None:
    if entry.kind not in NOTIFICATION_TRIGGERS:
        return
    policy = policy_for(incident)
    rules = policy.notification_rules(entry.kind, incident.severity or None)
    if not rules:
        return

    deliveries_queue_many(plan(incident, entry, rules, policy))


def plan(
    incident: Incident, entry: TimelineEntry, rules: list[NotificationRule], policy: Policy
) -> list[Delivery]:
    planned: dict[str, Delivery] = {}
    base = _Base(incident, policy)
    people = {a: _people(incident, a) for rule in rules for a in rule.audiences}
    known = _Known.load([u for users in people.values() for u in users])
    for rule in rules:
        for audience in rule.audiences:
            if audience in EXTERNAL_AUDIENCES and incident.private:
                continue
            if audience == "subscribers":
                for sub in _subscribers(incident):
                    if ChannelKind.EMAIL in rule.channels:
                        key = _key(incident, entry, "email", f"s{sub.ident}")
                        planned.setdefault(
                            key,
                            _delivery(
                                key,
                                incident,
                                entry,
                                rule,
                                audience,
                                "email",
                                sub.email,
                                context=_context(
                                    base, entry, external=True, name=sub.email, unsubscribe=True
                                ),
                            ),
                        )
                continue
            for user in people[audience]:
                _plan_person(planned, incident, entry, rule, audience, user, base, known)
        _plan_channels(planned, incident, entry, rule, base)
    return list(planned.values())


def _plan_person(
    planned: dict[str, Delivery],
    incident: Incident,
    entry: TimelineEntry,
    rule: NotificationRule,
    audience: str,
    user: User,
    base: _Base,
    known: _Known,
) -> None:
    external = not user.is_team
    if external and incident.private:
        return
    if user.pk == entry.actor_id and not external:
        return
    pref = known.preferences.get(user.pk)
    muted = set(pref.muted) if pref else set()
    for channel in rule.channels:
        if channel not in PERSON_CHANNELS or f"{entry.kind}:{channel}" in muted:
            continue
        if channel == ChannelKind.APPRISE:
            if pref is None or not pref.apprise_url_encrypted:
                continue
            # passed on as stored: a URL this machine cannot decrypt fails its own delivery
            # when sent, never the action that planned it
            address, shown, sealed = "", pref.apprise_url_hint, pref.apprise_url_encrypted
        else:
            address = shown = user.email
            sealed = None
            if external and address in known.unsubscribed:
                continue
        key = _key(incident, entry, channel, f"u{user.pk}")
        if key in planned:
            continue
        context = _context(
            base, entry, external=external, name=user.display_name, unsubscribe=external
        )
        planned[key] = _delivery(
            key,
            incident,
            entry,
            rule,
            audience,
            channel,
            address,
            context,
            user=user,
            shown=shown,
            sealed=sealed,
        )


def _plan_channels(
    planned: dict[str, Delivery],
    incident: Incident,
    entry: TimelineEntry,
    rule: NotificationRule,
    base: _Base,
) -> None:
    kinds = [c for c in rule.channels if c in (ChannelKind.WEBHOOK, ChannelKind.APPRISE)]
    if not kinds:
        return
    for channel in _CHANNELS.all():
        if channel.kind not in kinds:
            continue
        matched = [
            a
            for a in rule.audiences
            if a in channel.audiences and not (incident.private and a in EXTERNAL_AUDIENCES)
        ]
        if not matched:
            continue
        audience = matched[0]
        key = _key(incident, entry, channel.kind, f"c{channel.pk}")
        if key in planned:
            continue
        context = _context(base, entry, external=audience in EXTERNAL_AUDIENCES, name=channel.name)
        delivery = _delivery(
            key, incident, entry, rule, audience, channel.kind, "", context, shown=channel.url_hint
        )
        delivery.channel_config = channel
        planned[key] = delivery


def _key(incident: Incident, entry: TimelineEntry, channel: str, who: str) -> str:
    return f"{incident.ref}.{entry.seq}.{channel}.{who}"


def _delivery(
    key: str,
    incident: Incident,
    entry: TimelineEntry,
    rule: NotificationRule,
    audience: str,
    channel: str,
    address: str,
    context: dict[str, Any],
    *,
    user: User | None = None,
    shown: str | None = None,
    sealed: str | None = None,
) -> Delivery:
    """`sealed`: the address already encrypted, as a person's preference stores it."""
    if sealed is None:
        sealed = crypto.encrypt(address) if channel != ChannelKind.EMAIL else ""
    # wording only a mail can carry ("reply to this message") is written under `by_email`
    context = {**context, "by_email": channel == ChannelKind.EMAIL}
    return Delivery(
        key=key,
        incident=incident,
        channel=channel,
        user=user,
        recipient=(shown if shown is not None else address)[:300],
        address_encrypted=sealed,
        trigger=entry.kind,
        audience=audience,
        template=rule.template,
        context=context,
    )


# what planning reads of a person: a fan-out may load thousands
_PERSON_FIELDS = ("id", "email", "first_name", "last_name", "role", "is_active", "organisation_id")
_ACTIVE = User.objects.filter(is_active=True).only(*_PERSON_FIELDS)
# read by every entry that notifies someone: built once per process (core/compiled.py)
_MANAGERS = Compiled(lambda: _ACTIVE.filter(role=Role.MANAGER).order_by("email"))
_TEAM = Compiled(lambda: _ACTIVE.filter(role__in=[Role.MANAGER, Role.MEMBER]).order_by("email"))
_STAKEHOLDERS = Compiled(
    lambda incident: _ACTIVE.filter(
        role=Role.STAKEHOLDER,
        organisation__in=StakeholderOrg.objects.filter(active=True, affected_by=incident),
    ).order_by("pk")
)
_CHANNELS = Compiled(
    lambda: Channel.objects.filter(
        kind__in=[ChannelKind.WEBHOOK, ChannelKind.APPRISE], active=True
    ).order_by("name")
)


def _people(incident: Incident, audience: str) -> list[User]:
    if audience == "manager":
        return _MANAGERS.all()
    if audience == "team":
        return _TEAM.all()
    if audience == "assignee":
        return [incident.assignee] if incident.assignee and incident.assignee.is_active else []
    if audience == "reporter":
        return [incident.reporter] if incident.reporter and incident.reporter.is_active else []
    if audience == "stakeholders":
        return _STAKEHOLDERS.all(incident=incident.pk)
    return []


def _subscribers(incident: Incident) -> list[Subscriber]:
    found: list[Subscriber] = []
    for _, answer in subscribers_wanted.send(sender=Incident, incident=incident):
        found.extend(cast(list[Subscriber], answer or []))
    return found


@dataclass
class _Known:
    """Preferences and unsubscriptions of everyone an entry may reach, read in bulk (a
    public update can reach thousands of stakeholders)."""

    preferences: dict[int, Preference]
    unsubscribed: set[str]

    @classmethod
    def load(cls, users: list[User]) -> _Known:
        ids = sorted({u.pk for u in users})
        emails = sorted({u.email for u in users if not u.is_team and u.email})
        preferences: dict[int, Preference] = {}
        unsubscribed: set[str] = set()
        for i in range(0, len(ids), 500):
            for pref in Preference.objects.filter(user_id__in=ids[i : i + 500]):
                preferences[pref.user_id] = pref
        for i in range(0, len(emails), 500):
            unsubscribed.update(
                Unsubscribe.objects.filter(email__in=emails[i : i + 500]).values_list(
                    "email", flat=True
                )
            )
        return cls(preferences, unsubscribed)


# -- what a template may say --------------------------------------------------------------


class _Base:
    """The incident's part of every message's context: read once, and only when a message is
    planned (most entries' rules find no one to tell)."""

    def __init__(self, incident: Incident, policy: Policy) -> None:
        self.incident = incident
        self.policy = policy

    @functools.cached_property
    def context(self) -> dict[str, Any]:
        return incident_context(self.incident, self.policy)


def incident_context(incident: Incident, policy: Policy) -> dict[str, Any]:
    severity = incident.severity or None
    sev = policy.severities.get(severity or policy.intake.assumed_severity)
    type_ = policy.types.get(incident.type) if incident.type else None
    impact = policy.impacts.get(incident.impact) if incident.impact else None
    return {
        "org": {"name": policy.organisation.name, "team": policy.organisation.team},
        "incident": {
            "ref": incident.ref,
            "title": incident.title,
            "public_title": public_title(incident),
            "status": incident.status,
            "severity": severity or "",
            "severity_label": sev.label if sev else "",
            "type_label": type_.label if type_ else "",
            "impact_label": impact.label if impact else "",
            "organisation": incident.reporter_org.name if incident.reporter_org else "",
            "assignee": incident.assignee.display_name if incident.assignee else "",
            "url": f"{settings.BASE_URL}/incidents/{incident.ref}",
            "portal_url": f"{settings.BASE_URL}/portal/incidents/{incident.ref}",
        },
    }


def _context(
    base: _Base,
    entry: TimelineEntry,
    *,
    external: bool,
    name: str,
    unsubscribe: bool = False,
) -> dict[str, Any]:
    """Internal readers get the whole entry; stakeholders only what was written for them,
    under the incident's public title (a channel's own template that names `incident.title`
    reads the public one too: the title a reporter or the team typed stays with the team)."""
    context = dict(base.context)
    incident = dict(base.context["incident"])
    if external:
        incident["title"] = incident["public_title"]
        incident["assignee"] = ""
        incident["url"] = incident["portal_url"]
        # what of the entry was written for stakeholders is declared with its kind
        shown = entry_view(entry, Audience.STAKEHOLDERS)
        data = shown.data if shown is not None else {}
        context["entry"] = {"kind": entry.kind, "actor": context["org"]["team"], "data": data}
    else:
        context["entry"] = {"kind": entry.kind, "actor": entry.actor_label, "data": entry.data}
    if entry.kind == "public_update":
        context["update"] = {"status": entry.data.get("status"), "body": entry.data.get("body")}
    context["incident"] = incident
    context["recipient"] = {"name": name}
    context["external"] = external
    if unsubscribe:
        context["unsubscribe"] = True
    return context


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    recipients: int


def preview_for(incident: Incident, entry: TimelineEntry, audience: str) -> Preview | None:
    """The e-mail an outside `audience` (stakeholders) gets for `entry`, rendered by the
    policy's own template for the first of them, and how many get it; None when the policy
    sends them nothing for it."""
    if incident.private:
        return None
    policy = policy_for(incident)
    rules = [
        r
        for r in policy.notification_rules(entry.kind, incident.severity or None)
        if audience in r.audiences and ChannelKind.EMAIL in r.channels
    ]
    if not rules:
        return None
    people = _people(incident, audience)
    name = people[0].display_name if people else "(the stakeholder's name)"
    context = _context(_Base(incident, policy), entry, external=True, name=name, unsubscribe=True)
    subject, body = render(rules[0].template, {**context, "by_email": True})
    return Preview(subject, body, len(people))
