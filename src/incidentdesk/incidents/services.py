"""Every action on an incident. Each checks permission and policy, applies the lifecycle
transition, saves, and appends its timeline entry in one transaction (an action with a
consequence others are told of appends one more: a new severity also writes
`severity_changed`).

The incident's own fields, its lifecycle and its guideline tasks are written only here and in
`roles.py` (who leads the incident and who writes to the public). Other apps' services append
entries to an incident's timeline (`timeline.append`, under `selectors.incident_lock`) for
what they own: the portal (stakeholders' comments, files, organisations joining), the reviews
(reviews and action items), the status page (publication, components, maintenance), comms
(each delivery's outcome) and ingest (alerts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal

from incidentdesk.accounts.models import Role, StakeholderOrg, User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    RateLimited,
    field_error,
)
from incidentdesk.core.text import clean
from incidentdesk.policy.schema import Policy
from incidentdesk.policy.selectors import active_policy

from . import lifecycle, timeline
from .calendar import review_check_day
from .lifecycle import Status
from .models import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Incident,
    InfoRequest,
    PublicStatus,
    PublicUpdate,
    Task,
    TaskState,
    TimelineEntry,
)
from .selectors import incident_get_for, incident_lock, open_info_requests, policy_for

TEXT_MAX = 20_000
CLOCK_SKEW = dt.timedelta(minutes=5)


# -- helpers -------------------------------------------------------------------------------


def _collect(errors: list[FieldError], check: Callable[[], str]) -> str:
    """The checked value, or "" with the check's problems added to `errors`."""
    try:
        return check()
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return ""


def _transition(incident: Incident, target: Status) -> Status:
    previous = Status(incident.status)
    incident.status = lifecycle.check_transition(previous, target)
    return previous


def compute_due(incident: Incident, policy: Policy) -> None:
    """SLA due times from the incident's policy version and severity."""
    sla = policy.sla_for(incident.severity or None, incident.type)
    incident.ack_due_at = incident.reported_at + sla.acknowledge
    incident.resolve_due_at = incident.reported_at + sla.resolve
    if incident.status in lifecycle.FINISHED:
        incident.update_due_at = None
    elif incident.last_update_at is not None:
        incident.update_due_at = incident.last_update_at + sla.update_every
    else:
        incident.update_due_at = incident.reported_at + sla.first_update
    # the earliest moment a clock is due soon or breached, past ones included: the next SLA
    # check looks at it, writes what is missing and moves this on to the next future moment
    moments = [at for at, _, _, _ in _sla_moments(incident, policy)]
    open_ = incident.status not in lifecycle.FINISHED
    incident.sla_check_at = min(moments) if moments and open_ else None
    incident.review_check_on = review_check_day(incident, policy)


def _org_by_name(name: str) -> StakeholderOrg:
    org = StakeholderOrg.objects.filter(name=name.strip(), active=True).first()
    if org is None:
        raise field_error("organisation", f"No stakeholder organisation named {name!r}.")
    return org


# -- step 1: report, acknowledge, collect information -----------------------------------------


def report_rate_check(by: User) -> None:
    """A stakeholder reports at most INCIDENTDESK_REPORTS_PER_HOUR problems an hour, by any
    way in (portal, e-mail, API); the team is not limited."""
    if by.role != Role.STAKEHOLDER:
        return
    limit = settings.PORTAL_REPORTS_PER_HOUR
    since = clock.now() - dt.timedelta(hours=1)
    recent = list(
        Incident.objects.filter(reporter=by, reported_at__gte=since)
        .order_by("reported_at")
        .values_list("reported_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        again = recent[0] + dt.timedelta(hours=1)
        raise RateLimited(
            f"You have reported {limit} problem{'s' if limit != 1 else ''} in the last hour, "
            "the most we accept from one "
            f"person. Add to one of your open reports instead, or report again after "
            f"{again:%H:%M} UTC."
        )


def incident_report(
    *,
    by: User,
    title: str,
    description: str = "",
    started_at: dt.datetime | None = None,
    organisation: str | None = None,
    source: str = "api",
) -> Incident:
    require(by, "incident.report")
    report_rate_check(by)
    errors: list[FieldError] = []
    title = _collect(errors, lambda: clean("title", title, limit=TITLE_MAX, multiline=False))
    description = _collect(
        errors, lambda: clean("description", description, limit=DESCRIPTION_MAX, required=False)
    )
    now = clock.now()
    if started_at is not None and started_at > now + CLOCK_SKEW:
        errors.append(FieldError("started_at", "The start cannot be in the future."))
    org: StakeholderOrg | None = None
    if by.role == Role.STAKEHOLDER:
        org = by.organisation
        if organisation and (org is None or organisation.strip() != org.name):
            errors.append(
                FieldError("organisation", "Stakeholders report for their own organisation.")
            )
    elif organisation:
        try:
            org = _org_by_name(organisation)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The incident was not reported.", errors)

    version, policy = active_policy()
    with transaction.atomic():
        incident = Incident(
            title=title,
            description=description,
            reporter=by,
            reporter_org=org,
            started_at=started_at,
            reported_at=now,
            policy_version=version,
            updated_at=now,
        )
        compute_due(incident, policy)
        incident.save()
        if org is not None:
            incident.affected_orgs.add(org)
        timeline.append(
            incident,
            kind="reported",
            by=by,
            data={
                "title": title,
                "organisation": org.name if org else None,
                "started_at": started_at.isoformat() if started_at else None,
                "source": source,
                "policy_version": version.pk,
            },
        )
        incident.save()  # what the entry changed (the model writes only that)
    return incident


def incident_acknowledge(
    *, by: User, incident: Incident | str, expected_version: int | None = None
) -> Incident:
    require(by, "incident.acknowledge")
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        if incident.status not in lifecycle.OPEN:
            raise Conflict(
                f"{incident.ref} is {incident.status}: only open incidents are acknowledged."
            )
        if incident.acknowledged_at is not None:
            raise Conflict(f"{incident.ref} was already acknowledged.")
        _acknowledge(incident, by)
        incident.save()
    return incident


def _acknowledge(incident: Incident, by: User) -> None:
    now = clock.now()
    incident.acknowledged_at = now
    data: dict[str, Any] = {"late": bool(incident.ack_due_at and now > incident.ack_due_at)}
    if incident.assignee_id is None:
        incident.assignee = by
        data["assignee"] = by.email
    timeline.append(incident, kind="acknowledged", by=by, data=data)


def incident_request_info(
    *, by: User, incident: Incident | str, question: str, expected_version: int | None = None
) -> InfoRequest:
    require(by, "incident.request_info")
    question = clean("question", question, limit=TEXT_MAX)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        if incident.status not in lifecycle.OPEN:
            raise Conflict(
                f"{incident.ref} is {incident.status}: reopen it to ask for information."
            )
        request = InfoRequest.objects.create(
            incident=incident, question=question, asked_by=by, asked_at=clock.now()
        )
        timeline.append(
            incident,
            kind="info_requested",
            by=by,
            data={"request": request.pk, "question": question},
        )
        incident.save()
    return request


def incident_provide_info(
    *,
    by: User,
    incident: Incident | str,
    answer: str,
    request_id: int | None = None,
    expected_version: int | None = None,
) -> InfoRequest:
    """Answer the team's oldest open question (or `request_id`)."""
    require(by, "incident.provide_info")
    answer = clean("answer", answer, limit=TEXT_MAX)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        pending = open_info_requests(incident).select_for_update()
        request = pending.filter(pk=request_id).first() if request_id else pending.first()
        if request is None:
            raise Conflict(f"{incident.ref} has no open question to answer.")
        request.answer = answer
        request.answered_by = by
        request.answered_at = clock.now()
        request.save(update_fields=["answer", "answered_by", "answered_at"])
        timeline.append(
            incident,
            kind="info_provided",
            by=by,
            data={"request": request.pk, "answer": answer},
        )
        incident.save()
    return request


# -- step 2: categorize ----------------------------------------------------------------------


@dataclass(frozen=True)
class Categorized:
    incident: Incident
    suggested_severity: str
    suggested_impact: str | None
    overridden: bool


def triage_suggestion(incident: Incident, type_key: str, impact: str) -> tuple[str, str | None]:
    """(severity the matrix suggests for type x impact, impact suggested by affected orgs)."""
    policy = policy_for(incident)
    affected = incident.affected_orgs.count() if incident.pk else 0
    total = StakeholderOrg.objects.filter(active=True).count()
    return policy.suggest_severity(type_key, impact), policy.suggest_impact(affected, total)


def incident_categorize(
    *,
    by: User,
    incident: Incident | str,
    type: str,
    severity: str,
    impact: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Categorized:
    require(by, "incident.categorize")
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        if incident.status in lifecycle.FINISHED:
            raise Conflict(
                f"{incident.ref} is {incident.status}: reopen it to categorize it again."
            )
        policy = policy_for(incident)
        errors = []
        if type not in policy.types:
            errors.append(
                FieldError("type", f"Unknown type {type!r} (known: {', '.join(policy.types)}).")
            )
        if severity not in policy.severities:
            errors.append(
                FieldError(
                    "severity",
                    f"Unknown severity {severity!r} (known: {', '.join(policy.severities)}).",
                )
            )
        if impact not in policy.impacts:
            errors.append(
                FieldError(
                    "impact", f"Unknown impact {impact!r} (known: {', '.join(policy.impacts)})."
                )
            )
        if errors:
            raise InvalidInput("The incident was not categorized.", errors)
        reason = clean("reason", reason, required=False, limit=2000)
        suggested_severity, suggested_impact = triage_suggestion(incident, type, impact)
        overridden = severity != suggested_severity or (
            suggested_impact is not None and impact != suggested_impact
        )
        if overridden and not reason:
            what = (
                f"the policy suggests {suggested_severity} for {policy.types[type].label} with "
                f"impact {policy.impacts[impact].label}"
                if severity != suggested_severity
                else f"the affected organisations suggest impact {policy.impacts[suggested_impact or impact].label}"
            )
            raise field_error("reason", f"Give a reason for overriding: {what}.")
        if incident.acknowledged_at is None:
            _acknowledge(incident, by)
        previous = {"type": incident.type, "severity": incident.severity, "impact": incident.impact}
        incident.type, incident.severity, incident.impact = type, severity, impact
        if policy.types[type].private and not incident.private:
            incident.private = True
        if incident.status == Status.REPORTED:
            _transition(incident, Status.TRIAGED)
            incident.triaged_at = clock.now()
        compute_due(incident, policy)
        timeline.append(
            incident,
            kind="categorized",
            by=by,
            data={
                "type": type,
                "severity": severity,
                "impact": impact,
                "suggested_severity": suggested_severity,
                "suggested_impact": suggested_impact,
                "reason": reason,
                "previous": previous,
                "private": incident.private,
            },
        )
        if previous["severity"] and previous["severity"] != severity:
            timeline.append(
                incident,
                kind="severity_changed",
                by=by,
                data={"from": previous["severity"], "to": severity, "reason": reason},
            )
        _instantiate_guideline(incident, policy)
        incident.save()
    return Categorized(incident, suggested_severity, suggested_impact, overridden)


def _instantiate_guideline(incident: Incident, policy: Policy) -> None:
    guideline = policy.guideline_for(incident.type, incident.severity)
    if guideline is None:
        return
    name = f"{guideline.type}/{guideline.severity or 'any'}"
    existing = set(incident.tasks.values_list("title", flat=True))
    position = incident.tasks.count()
    for step in guideline.steps:
        if step in existing:
            continue
        position += 1
        Task.objects.create(incident=incident, position=position, title=step, guideline=name)


# -- step 3 and 4: coordinate and resolve ------------------------------------------------------


def incident_set_status(
    *, by: User, incident: Incident | str, status: str, expected_version: int | None = None
) -> Incident:
    require(by, "incident.set_status")
    if status not in lifecycle.MANUAL_STATUSES:
        special = (
            lifecycle.ACTION_FOR_STATUS.get(Status(status))
            if status in Status.__members__.values()
            else None
        )
        message = (
            f"Use the {special} action to make an incident {status}."
            if special
            else f"Status is one of: {', '.join(sorted(lifecycle.MANUAL_STATUSES))}."
        )
        raise field_error("status", message)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        previous = _transition(incident, Status(status))
        timeline.append(
            incident, kind="status_changed", by=by, data={"from": previous, "to": status}
        )
        incident.save()
    return incident


def incident_add_note(
    *, by: User, incident: Incident | str, body: str, expected_version: int | None = None
) -> TimelineEntry:
    """An internal note in the team's discussion (never shown to stakeholders)."""
    require(by, "incident.note")
    body = clean("body", body, limit=TEXT_MAX)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        entry = timeline.append(incident, kind="note", by=by, data={"body": body})
        incident.save()
    return entry


def incident_post_update(
    *,
    by: User,
    incident: Incident | str,
    status: str,
    body: str,
    expected_version: int | None = None,
    extra: dict[str, Any] | None = None,
) -> PublicUpdate:
    """A stakeholder-facing update (policy step 3, and step 5 once resolved). `extra`: what
    else the one action that posts it changed (the public title, the components), kept in
    the same timeline entry."""
    require(by, "incident.post_update")
    if status not in PublicStatus.values:
        raise field_error("status", f"Public status is one of: {', '.join(PublicStatus.values)}.")
    body = clean("body", body, limit=5000)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        if incident.status in (Status.CLOSED, Status.REJECTED):
            raise Conflict(f"{incident.ref} is {incident.status}: it takes no more updates.")
        if status == PublicStatus.RESOLVED and incident.status != Status.RESOLVED:
            raise field_error("status", "Resolve the incident before announcing its resolution.")
        now = clock.now()
        entry = timeline.append(
            incident,
            kind="public_update",
            by=by,
            data={"status": status, "body": body, **(extra or {})},
        )
        update = PublicUpdate.objects.create(
            incident=incident, status=status, body=body, posted_by=by, posted_at=now, seq=entry.seq
        )
        if incident.first_update_at is None:
            incident.first_update_at = now
        incident.last_update_at = now
        compute_due(incident, policy_for(incident))
        incident.save()
    return update


def incident_task_update(
    *,
    by: User,
    incident: Incident | str,
    task_id: int,
    state: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Task:
    require(by, "incident.task_update")
    if state not in TaskState.values:
        raise field_error("state", f"State is one of: {', '.join(TaskState.values)}.")
    reason = clean("reason", reason, required=state == TaskState.SKIPPED, limit=2000)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        task = Task.objects.select_for_update().filter(incident=incident, pk=task_id).first()
        if task is None:
            raise NotFound(f"{incident.ref} has no task {task_id}.")
        if incident.status in (Status.CLOSED, Status.REJECTED):
            raise Conflict(f"{incident.ref} is {incident.status}: its checklist is final.")
        previous = task.state
        task.state = state
        task.reason = reason
        task.done_by = by if state != TaskState.OPEN else None
        task.done_at = clock.now() if state != TaskState.OPEN else None
        task.save()
        timeline.append(
            incident,
            kind="task_updated",
            by=by,
            data={
                "task": task.pk,
                "title": task.title,
                "from": previous,
                "to": state,
                "reason": reason,
            },
        )
        incident.save()
    return task


def incident_resolve(
    *, by: User, incident: Incident | str, summary: str, expected_version: int | None = None
) -> Incident:
    require(by, "incident.resolve")
    summary = clean("summary", summary, limit=TEXT_MAX)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        previous = _transition(incident, Status.RESOLVED)
        now = clock.now()
        incident.resolved_at = now
        incident.resolution_summary = summary
        compute_due(incident, policy_for(incident))
        open_tasks = list(
            incident.tasks.filter(state=TaskState.OPEN).values_list("title", flat=True)
        )
        timeline.append(
            incident,
            kind="resolved",
            by=by,
            data={
                "from": previous,
                "summary": summary,
                "open_tasks": open_tasks,
                "late": bool(incident.resolve_due_at and now > incident.resolve_due_at),
            },
        )
        incident.save()
    return incident


close_requested = Signal()
"""Sent with the locked `incident` before it closes. Other parts of the product place their
conditions on closing here (the reviews: a required post-incident review); a receiver returns
the reason closing is refused, or None."""


def close_refusal(incident: Incident) -> str | None:
    """The first reason a receiver of `close_requested` gives to refuse closing, or None."""
    answers = close_requested.send(sender=Incident, incident=incident)
    return next((reason for _, reason in answers if reason), None)


def incident_close(
    *, by: User, incident: Incident | str, expected_version: int | None = None
) -> Incident:
    require(by, "incident.close")
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        _transition(incident, Status.CLOSED)
        refusal = close_refusal(incident)
        if refusal:
            raise Conflict(refusal)
        incident.closed_at = clock.now()
        timeline.append(incident, kind="closed", by=by, data={})
        incident.save()
    return incident


def incident_reject(
    *,
    by: User,
    incident: Incident | str,
    reason: str,
    duplicate_of: str | None = None,
    expected_version: int | None = None,
) -> Incident:
    require(by, "incident.reject")
    reason = clean("reason", reason, limit=2000)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        original: Incident | None = None
        if duplicate_of:
            try:
                original = incident_get_for(by, duplicate_of)
            except NotFound:
                raise field_error("duplicate_of", f"No incident {duplicate_of}.") from None
            if original.pk == incident.pk:
                raise field_error("duplicate_of", "An incident cannot duplicate itself.")
        previous = _transition(incident, Status.REJECTED)
        incident.rejected_at = clock.now()
        incident.rejection_reason = reason
        incident.duplicate_of = original
        compute_due(incident, policy_for(incident))
        timeline.append(
            incident,
            kind="rejected",
            by=by,
            data={
                "from": previous,
                "reason": reason,
                "duplicate_of": original.ref if original else None,
            },
        )
        incident.save()
    return incident


def incident_reopen(
    *, by: User, incident: Incident | str, reason: str, expected_version: int | None = None
) -> Incident:
    require(by, "incident.reopen")
    reason = clean("reason", reason, limit=2000)
    with transaction.atomic():
        incident = incident_lock(by, incident, expected_version)
        if incident.status not in lifecycle.FINISHED:
            raise Conflict(
                f"{incident.ref} is {incident.status}: only resolved, closed or rejected incidents reopen."
            )
        target = lifecycle.reopen_target(incident.status, bool(incident.type))
        previous = _transition(incident, target)
        incident.resolved_at = incident.closed_at = incident.rejected_at = None
        incident.duplicate_of = None
        compute_due(incident, policy_for(incident))
        timeline.append(
            incident,
            kind="reopened",
            by=by,
            data={"from": previous, "to": target, "reason": reason},
        )
        incident.save()
    return incident


# -- SLA clocks ----------------------------------------------------------------------------------

SLA_TARGETS = ("acknowledge", "triage", "update", "resolve")


def _sla_clocks(incident: Incident, policy: Policy) -> list[tuple[str, dt.datetime, dt.timedelta]]:
    """(target, due_at, span) for each clock still running on an open incident."""
    sla = policy.sla_for(incident.severity or None, incident.type)
    clocks = []
    if incident.acknowledged_at is None and incident.ack_due_at:
        clocks.append(("acknowledge", incident.ack_due_at, sla.acknowledge))
    if incident.triaged_at is None:
        clocks.append(("triage", incident.reported_at + policy.intake.triage, policy.intake.triage))
    if incident.update_due_at and incident.status != Status.REPORTED:
        span = sla.update_every if incident.last_update_at else sla.first_update
        clocks.append(("update", incident.update_due_at, span))
    if incident.resolve_due_at:
        clocks.append(("resolve", incident.resolve_due_at, sla.resolve))
    return clocks


def _sla_moments(
    incident: Incident, policy: Policy
) -> list[tuple[dt.datetime, str, str, dt.datetime]]:
    """(when, kind, target, due_at): each moment a running clock is due soon or breached."""
    moments = []
    for target, due_at, span in _sla_clocks(incident, policy):
        moments.append(
            (due_at - span * policy.intake.due_soon_fraction, "sla_due_soon", target, due_at)
        )
        moments.append((due_at, "sla_breached", target, due_at))
    return moments


# incidents one run of the check takes on; the rest wait for the next run, 15 seconds on
SLA_CHECK_BATCH = 500


def incident_sla_check() -> int:
    """Write "SLA due soon" and "SLA breached" entries for open incidents, once per target and
    due time. Reads only the incidents whose `sla_check_at` has come (an index), so a run
    costs what is due, not what exists. Safe to run concurrently and repeatedly: workers skip
    an incident another is checking. Returns the number of entries written."""
    now = clock.now()
    written = 0
    due = Incident.objects.filter(sla_check_at__lte=now).order_by("sla_check_at")
    for pk in list(due.values_list("pk", flat=True)[:SLA_CHECK_BATCH]):
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(skip_locked=True)
                .select_related("policy_version")
                .filter(pk=pk, sla_check_at__lte=now)
                .first()
            )
            if incident is None:  # checked by another worker meanwhile
                continue
            if incident.status not in lifecycle.OPEN:
                incident.sla_check_at = None
                incident.save(update_fields=["sla_check_at"])
                continue
            policy = policy_for(incident)
            moments = _sla_moments(incident, policy)
            for at, kind, target, due_at in moments:
                # a breach supersedes the warning it was due to give
                if at > now or (kind == "sla_due_soon" and now >= due_at):
                    continue
                key = due_at.isoformat()
                if incident.timeline.filter(
                    kind=kind, data__target=target, data__due_at=key
                ).exists():
                    continue
                timeline.append(
                    incident,
                    kind=kind,
                    by=None,
                    data={"target": target, "due_at": key, "severity": incident.severity or None},
                )
                written += 1
            incident.sla_check_at = min((at for at, *_ in moments if at > now), default=None)
            incident.save()
    return written
