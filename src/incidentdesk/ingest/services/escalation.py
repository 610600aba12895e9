"""Paging the person on call, level by level, until someone acknowledges.

An incident whose source and severity an escalation policy names gets an `Escalation` row
when it is reported. Each step (page a level, page again after the last, page the assignee
again when an acknowledged incident breaches an SLA clock) is one transaction: the pages are
queued as deliveries on the communication plan's queue, the step is written on the timeline,
and the row moves on to its next due time. A step is found by that indexed due time, by the
task enqueued for it and by the periodic check, whichever comes first; the incident's row
lock (skipped when another worker holds it) makes each step happen once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.comms.ack_links import ack_link_id_of
from incidentdesk.comms.models import Delivery, DeliveryState
from incidentdesk.comms.paging import paging_channels
from incidentdesk.comms.services import deliveries_attempt, message_queue
from incidentdesk.comms.tasks import PAGE_AUDIENCE, PAGE_LANE
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, NotFound
from incidentdesk.incidents import lifecycle, timeline
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import incident_get_for, incident_lock, policy_for
from incidentdesk.incidents.services import incident_acknowledge
from incidentdesk.policy.schema import EscalationPolicy, Policy, duration_in_words

from .. import selectors
from ..models import AckLink, Alert, Escalation
from ..tasks import escalate

ACK_LINK_TTL = dt.timedelta(hours=24)
# escalations one run of the periodic check takes on; the rest wait for the next run
ESCALATION_BATCH = 200


def escalates(policy: Policy, source: str) -> bool:
    return any(source in rule.sources for rule in policy.escalation)


def escalation_start(*, incident: Incident, source: str) -> Escalation:
    """Start paging for a just reported incident, inside the report's transaction. The
    first step runs at once in a worker, when the incident's alert is there to say its
    severity."""
    now = clock.now()
    escalation = Escalation.objects.create(
        incident=incident, source=source, due_at=now, created_at=now
    )
    _enqueue(incident.pk, None)
    return escalation


def escalation_hurry(*, incident: Incident) -> None:
    """An incident categorized while its paging waits for working hours: decide again now
    (its new severity may page at once)."""
    updated = Escalation.objects.filter(
        incident=incident, level=0, round=0, due_at__gt=clock.now()
    ).update(due_at=clock.now())
    if updated:
        _enqueue(incident.pk, None)


def escalation_renotify(*, incident: Incident, target: str) -> None:
    """An acknowledged incident breached its `target` SLA clock: page its assignee again."""
    updated = Escalation.objects.filter(incident=incident).update(
        due_at=clock.now(), renotify=target
    )
    if updated:
        _enqueue(incident.pk, None)


def _enqueue(incident_id: int, at: dt.datetime | None) -> None:
    escalate.using(queue_name=PAGE_LANE, run_after=at).enqueue(incident_id)


def escalation_check() -> int:
    """Run every escalation step that is due. Reads only the escalations whose due time has
    come (an index); safe to run concurrently. Returns how many steps were taken."""
    due = Escalation.objects.filter(due_at__lte=clock.now()).order_by("due_at")
    ids = list(due.values_list("incident_id", flat=True)[:ESCALATION_BATCH])
    return sum(1 for pk in ids if escalation_step(pk) != "nothing to do")


def escalation_step(incident_id: int) -> str:
    """Take the incident's due escalation step, if it has one and no other worker is
    taking it. Returns what happened, in words."""
    now = clock.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("policy_version")
            .filter(pk=incident_id, escalation__due_at__lte=now)
            .first()
        )
        if incident is None:
            return "nothing to do"
        escalation = Escalation.objects.select_for_update().get(incident=incident)
        if escalation.due_at is None or escalation.due_at > now:
            return "nothing to do"
        outcome = _step(incident, escalation, now)
        escalation.save()
        incident.save()
    _send_now(incident_id)
    return outcome


def _send_now(incident_id: int) -> None:
    """Attempt the step's pages at once, in this worker, rather than after another round of
    the queue: seconds count when someone is woken. The queued tasks stay as the fallback
    (a failed page is retried as any delivery; one sent here is nothing to do for them)."""
    keys = Delivery.objects.filter(
        incident_id=incident_id, audience=PAGE_AUDIENCE, state=DeliveryState.QUEUED
    ).values_list("key", flat=True)
    if keys:
        deliveries_attempt(list(keys.order_by("id")))


def _step(incident: Incident, escalation: Escalation, now: dt.datetime) -> str:
    escalation.due_at = None
    if incident.status not in lifecycle.OPEN:
        escalation.stopped_at = now
        return "stopped: the incident is no longer open"
    if incident.acknowledged_at is not None:
        escalation.stopped_at = escalation.stopped_at or now
        if escalation.renotify:
            target, escalation.renotify = escalation.renotify, ""
            return _page_assignee_again(incident, escalation, target, now)
        return "stopped: acknowledged"
    policy = policy_for(incident)
    rule = policy.escalation_for(
        incident.severity or _alert_severity(incident, policy), escalation.source
    )
    if rule is None:
        return "no escalation policy for this severity"
    first = escalation.level == 0 and escalation.round == 0
    hours = rule.working_hours
    if first and hours is not None and not hours.contains(now):
        escalation.due_at = hours.next_start(now)
        if escalation.policy != rule.name:
            escalation.policy = rule.name
            _write(
                incident,
                "paging_waits",
                f"Paging waits for working hours ({rule.name}): until "
                f"{escalation.due_at:%Y-%m-%d %H:%M} UTC",
                {"policy": rule.name, "until": escalation.due_at.isoformat()},
            )
        _enqueue(incident.pk, escalation.due_at)
        return "waits for working hours"
    escalation.policy = rule.name
    if escalation.level >= len(rule.levels):
        if escalation.round >= rule.repeats:
            return "every level was paged"
        escalation.round += 1
        escalation.level = 0
    return _page_level(incident, escalation, rule, now)


def _alert_severity(incident: Incident, policy: Policy) -> str | None:
    """An alert's incident is uncategorized at first: its alert's severity, as the policy
    maps it, decides until a person categorizes it."""
    first = Alert.objects.filter(incident=incident).order_by("id").only("severity").first()
    return policy.ingest.severity_of(first.severity) if first is not None else None


def _page_level(
    incident: Incident, escalation: Escalation, rule: EscalationPolicy, now: dt.datetime
) -> str:
    index = escalation.level
    level = rule.levels[index]
    people, whom = selectors.level_targets(level, now)
    number = index + 1
    again = f", round {escalation.round + 1}" if escalation.round else ""
    if escalation.round:
        why = f"no acknowledgement in {duration_in_words(rule.repeat_after)}" if index == 0 else ""
    else:
        why = f"no acknowledgement in {duration_in_words(level.delay)}" if level.delay else ""
    if index == 0 and not escalation.round:
        verb = "Paged"
    else:
        verb = "Escalated to" if index else "Paged again"
    names = ", ".join(p.display_name for p in people)
    if people:
        text = f"{verb} {names if level.schedule or level.people else whom} (level {number}{again})"
        for person in people:
            _page(incident, person, escalation, number, rule.name)
    else:
        text = f"Nobody to page at level {number}{again}: {whom}"
    if why:
        text += f": {why}"
    _write(
        incident,
        "paged",
        text,
        {
            "policy": rule.name,
            "level": number,
            "round": escalation.round + 1,
            "people": [p.email for p in people],
        },
    )
    escalation.level = number
    escalation.paged_at = now
    if escalation.level < len(rule.levels):
        escalation.due_at = now + (rule.levels[escalation.level].delay or dt.timedelta(0))
    elif escalation.round < rule.repeats:
        escalation.due_at = now + rule.repeat_after
    if escalation.due_at is not None:
        _enqueue(incident.pk, escalation.due_at)
    return text


def _page_assignee_again(
    incident: Incident, escalation: Escalation, target: str, now: dt.datetime
) -> str:
    person = incident.assignee
    if person is None:
        return "nobody to page again"
    escalation.round += 1
    _page(incident, person, escalation, 0, escalation.policy, reason=f"{target} target breached")
    text = f"Paged {person.display_name} again: the {target} target was breached"
    _write(
        incident,
        "paged",
        text,
        {
            "policy": escalation.policy,
            "level": 0,
            "round": escalation.round,
            "people": [person.email],
        },
    )
    return text


def _page(
    incident: Incident,
    person: User,
    escalation: Escalation,
    level: int,
    policy_name: str,
    reason: str = "",
) -> None:
    """Queue one page to `person` on each of their paging channels, each with a link that
    acknowledges the incident once."""
    now = clock.now()
    link = AckLink.objects.create(
        incident=incident, user=person, created_at=now, expires_at=now + ACK_LINK_TTL
    )
    subject = f"Page: {incident.title}"
    severity = incident.severity or "not yet categorized"
    lines = [
        f"You are paged for {incident.ref}, “{incident.title}” (severity {severity}).",
        "",
        f"- Escalation: {policy_name}" + (f", level {level}" if level else ""),
    ]
    if reason:
        lines.append(f"- Why again: {reason}")
    lines += ["", f"Open it: {settings.BASE_URL}/incidents/{incident.ref}"]
    body = "\n".join(lines)
    for channel, address in paging_channels(person):
        message_queue(
            channel=channel,
            recipient=address,
            subject=subject,
            body_markdown=body,
            key=f"page:{incident.pk}:{escalation.round}:{level}:{person.pk}:{channel}",
            incident=incident,
            audience=PAGE_AUDIENCE,
            user=person,
            trigger="paged",
            context={"ack_link": link.pk},
        )


def escalation_acknowledge(*, by: User, incident: Incident | str) -> Incident:
    """Acknowledge an incident that is paging people and stop its paging at once (the API's
    acknowledgement; a page's link and the incident page acknowledge through
    `incident_acknowledge`, which the next step reads as "stopped"). Writes the
    acknowledgement and, beside it, the level paging stopped at."""
    ref = incident if isinstance(incident, str) else incident.ref
    incident_get_for(by, ref)  # an incident the caller may not see is a 404, not a 403
    require(by, "incident.acknowledge")
    with transaction.atomic():
        locked = incident_lock(by, ref)
        escalation = Escalation.objects.select_for_update().filter(incident=locked).first()
        if escalation is None:
            raise Conflict(
                f"{locked.ref} pages nobody (no escalation policy applies to it): "
                "acknowledge it on the incident."
            )
        acknowledged = incident_acknowledge(by=by, incident=locked)
        now = clock.now()
        escalation.due_at = None
        escalation.renotify = ""
        escalation.stopped_at = escalation.stopped_at or now
        escalation.save(update_fields=["due_at", "renotify", "stopped_at"])
        where = f"at level {escalation.level}" if escalation.level else "before anyone was paged"
        _write(
            acknowledged,
            "paging_stopped",
            f"Paging stopped {where}: acknowledged by {by.display_name}",
            {
                "policy": escalation.policy,
                "level": escalation.level,
                "round": escalation.round + 1 if escalation.level else escalation.round,
                "by": by.email,
            },
        )
        acknowledged.save()
    return acknowledged


# -- the acknowledge link ------------------------------------------------------------------


def ack_link_get(token: str) -> AckLink:
    """The link a signed token names, whatever its state; NotFound for a forged token."""
    link = (
        AckLink.objects.select_related("incident", "user").filter(pk=ack_link_id_of(token)).first()
    )
    if link is None:
        raise NotFound("This acknowledge link is not valid.")
    return link


def ack_link_problem(link: AckLink) -> str:
    """Why the link cannot acknowledge (used, expired, already acknowledged), or ""."""
    incident = link.incident
    if link.used_at is not None:
        return f"This link was used already, at {link.used_at:%Y-%m-%d %H:%M} UTC."
    if link.expires_at <= clock.now():
        return "This link has expired. Open the incident to acknowledge it."
    if incident.status not in lifecycle.OPEN:
        return f"{incident.ref} is no longer open."
    if incident.acknowledged_at is not None:
        who = incident.assignee.display_name if incident.assignee else "someone"
        return f"{incident.ref} was acknowledged already (assigned to {who})."
    return ""


def ack_link_use(*, token: str) -> Incident:
    """Acknowledge the incident as the person the page went to. Needs no login: the signed,
    single-use, expiring link is the proof. A link that cannot be used writes nothing."""
    with transaction.atomic():
        link = AckLink.objects.select_for_update().filter(pk=ack_link_get(token).pk).get()
        problem = ack_link_problem(link)
        if problem:
            raise Conflict(problem)
        incident = incident_acknowledge(by=link.user, incident=link.incident)
        link.used_at = clock.now()
        link.save(update_fields=["used_at"])
    return incident


def _write(incident: Incident, kind: str, summary: str, data: dict[str, Any]) -> None:
    timeline.append(incident, kind=kind, by=None, data={"summary": summary, **data})
