"""The team's workspace: the queue and the incident page. Views read through selectors and
act only through `services`; every action is a POST form carrying the incident's version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import (
    Max,
    QuerySet,
)
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.accounts.pages import team_page
from incidentdesk.accounts.permissions import can
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound
from incidentdesk.policy.schema import Policy
from incidentdesk.policy.selectors import active_policy

from . import lifecycle, services, timeline_window
from .kinds import label as kind_label
from .lifecycle import Status
from .models import Incident, SavedView, TaskState, TimelineEntry
from .queue_order import SORTS, annotate_queue, keyset_page
from .roles import IncidentRole, incident_assign, incident_hand_over, role_label
from .search import incidents_matching
from .selectors import (
    REF,
    IncidentFilters,
    incident_get_for,
    incident_list_for,
    policy_for,
    status_counts,
)
from .steps import DONE, LATE, NOT_APPLICABLE, PENDING, StepState, policy_steps
from .timeline_text import describe

PAGE_SIZE = 50
POLL_SECONDS = 3


# -- access --------------------------------------------------------------------------------


# -- SLA clocks ----------------------------------------------------------------------------

OK, DUE_SOON, BREACHED, MET = "ok", "due soon", "breached", "met"
CLOCK_BADGE = {OK: "ok", DUE_SOON: "warn", BREACHED: "bad", MET: "muted"}


@dataclass
class SlaClock:
    key: str
    label: str
    due_at: dt.datetime | None
    state: str
    done_at: dt.datetime | None = None

    @property
    def badge(self) -> str:
        return CLOCK_BADGE[self.state]


def _clock_state(due_at: dt.datetime, span: dt.timedelta, fraction: float, now: dt.datetime) -> str:
    if now >= due_at:
        return BREACHED
    if due_at - now <= span * fraction:
        return DUE_SOON
    return OK


def sla_clocks(incident: Incident, policy: Policy, now: dt.datetime) -> list[SlaClock]:
    """Acknowledge, next update and resolve: the three clocks a member watches."""
    sla = policy.sla_for(incident.severity or None, incident.type)
    fraction = policy.intake.due_soon_fraction
    is_open = incident.status in lifecycle.OPEN
    clocks = []
    if incident.acknowledged_at is not None:
        clocks.append(
            SlaClock(
                "acknowledge", "Acknowledge", incident.ack_due_at, MET, incident.acknowledged_at
            )
        )
    elif incident.ack_due_at and is_open:
        state = _clock_state(incident.ack_due_at, sla.acknowledge, fraction, now)
        clocks.append(SlaClock("acknowledge", "Acknowledge", incident.ack_due_at, state))
    if incident.update_due_at and is_open:
        span = sla.update_every if incident.last_update_at else sla.first_update
        state = _clock_state(incident.update_due_at, span, fraction, now)
        clocks.append(SlaClock("update", "Next update", incident.update_due_at, state))
    if incident.resolved_at is not None:
        clocks.append(
            SlaClock("resolve", "Resolve", incident.resolve_due_at, MET, incident.resolved_at)
        )
    elif incident.resolve_due_at and is_open:
        state = _clock_state(incident.resolve_due_at, sla.resolve, fraction, now)
        clocks.append(SlaClock("resolve", "Resolve", incident.resolve_due_at, state))
    return clocks


SEVERITY_BADGE = {"P1": "bad", "P2": "warn"}


def _age(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def sla_summary(clocks: list[SlaClock]) -> str:
    states = {c.state for c in clocks}
    if BREACHED in states:
        return BREACHED
    if DUE_SOON in states:
        return DUE_SOON
    return OK


# -- the queue -----------------------------------------------------------------------------

STATUS_CHOICES = [("open", "Open")] + [(s.value, lifecycle.status_label(s)) for s in Status]
STATUS_CHOICES.append(("all", "All"))


@dataclass
class QueueParams:
    status: str = "open"
    type: str = ""
    severity: str = ""
    assignee: str = ""
    mine: str = ""
    q: str = ""
    sort: str = "attention"
    after: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: QueryDict, policy: Policy) -> QueueParams:
        p = cls(
            status=query.get("status", "open") or "open",
            type=query.get("type", ""),
            severity=query.get("severity", ""),
            assignee=query.get("assignee", ""),
            mine="1" if query.get("mine") else "",
            q=query.get("q", "").strip()[:200],
            sort=query.get("sort", "attention") or "attention",
            after=query.get("after", ""),
        )
        if p.status not in dict(STATUS_CHOICES):
            p.errors.append(f"Unknown status {p.status!r}: showing open incidents.")
            p.status = "open"
        if p.type and p.type not in policy.types:
            p.errors.append(f"Unknown type {p.type!r}.")
            p.type = ""
        if p.severity and p.severity not in policy.severities:
            p.errors.append(f"Unknown severity {p.severity!r}.")
            p.severity = ""
        if p.sort not in SORTS:
            p.errors.append(f"Unknown sort {p.sort!r}.")
            p.sort = "attention"
        return p

    def filters(self) -> IncidentFilters:
        status = None if self.status == "all" else self.status
        by_id = SORTS[self.sort].keys[0][0] == "id"
        if status == "open" and not by_id:
            # a list of statuses rather than "not finished": the database reads only the open
            # incidents through its (status, id) index before sorting them
            status = ",".join(sorted(lifecycle.OPEN))
        return IncidentFilters(
            # sorted by id, walking the primary key and skipping finished ones stops early
            open_only=status == "open",
            status=None if status == "open" else status,
            type=self.type or None,
            severity=self.severity or None,
            assignee=self.assignee or None,
            mine=bool(self.mine),
        )

    def search(self, qs: QuerySet[Incident]) -> QuerySet[Incident]:
        """A reference finds that incident; otherwise every word must be in the title or the
        description, read from the full-text index."""
        match = REF.match(self.q)
        if match:
            return qs.filter(pk=int(match.group(1)))
        return qs.filter(incidents_matching(self.q)) if self.q else qs

    def query(self, **override: str) -> str:
        values = {
            "status": self.status,
            "type": self.type,
            "severity": self.severity,
            "assignee": self.assignee,
            "mine": self.mine,
            "q": self.q,
            "sort": self.sort,
            "after": self.after,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v and (k, v) != ("status", "open")})


def queue_stamp() -> int:
    """Changes whenever any incident changes: every change appends a timeline entry, and the
    highest entry id is one index lookup, unlike max(updated_at) over every incident."""
    return TimelineEntry.objects.aggregate(m=Max("id"))["m"] or 0


def _queue_context(request: HttpRequest) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    _, policy = active_policy()
    params = QueueParams.from_query(request.GET, policy)
    qs = annotate_queue(params.search(incident_list_for(user, params.filters()))).select_related(
        "assignee", "comms_lead", "policy_version"
    )
    try:
        items, next_cursor = keyset_page(qs, SORTS[params.sort], params.after or None, PAGE_SIZE)
    except InvalidInput:
        params.errors.append("That page link is out of date: showing the first page.")
        params.after = ""
        items, next_cursor = keyset_page(qs, SORTS[params.sort], None, PAGE_SIZE)
    now = clock.now()
    rows = []
    for incident in items:
        own = policy_for(incident)
        clocks = sla_clocks(incident, own, now)
        sla = sla_summary(clocks)
        rows.append(
            {
                "incident": incident,
                "href": f"/incidents/{incident.ref}",
                "age": _age(now - incident.reported_at),
                "sla": sla,
                "sla_badge": CLOCK_BADGE[sla],
                "severity_badge": SEVERITY_BADGE.get(incident.severity, "info"),
                "type": own.types[incident.type].label if incident.type in own.types else "",
                "impact": (
                    own.impacts[incident.impact].label if incident.impact in own.impacts else ""
                ),
            }
        )
    counts = status_counts()
    team = User.objects.filter(is_active=True, role__in=["admin", "manager", "member"])
    return {
        "nav": "queue",
        "params": params,
        "rows": rows,
        "next_query": params.query(after=next_cursor) if next_cursor else None,
        "first_query": params.query(after=""),
        "live_query": params.query(),
        "counts": [(s.value, counts[s.value]) for s in Status],
        "open_count": counts["open"],
        "status_choices": STATUS_CHOICES,
        "types": policy.types,
        "severities": policy.severities,
        "team": team,
        "sorts": SORTS,
        "saved_views": SavedView.objects.filter(user=user).order_by("name"),
        "view_query": params.query(after=""),
        "back_query": params.query(),
        "can_assign": can(user, "incident.assign"),
        "can_acknowledge": can(user, "incident.acknowledge"),
        "stamp": queue_stamp(),
        "poll_seconds": POLL_SECONDS,
        "now": now,
    }


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if not request.user.is_team:  # type: ignore[union-attr]
        return redirect("/portal/")
    return render(request, "incidents/queue.html", _queue_context(request))


@team_page
@require_GET
def queue_live(request: HttpRequest) -> HttpResponse:
    """Polled by the open queue: 204 while nothing changed, the fresh results otherwise."""
    if request.GET.get("stamp") == str(queue_stamp()):
        return HttpResponse(status=204)
    return render(request, "incidents/_queue_results.html", _queue_context(request))


# -- the incident page ------------------------------------------------------------------------

STEP_BADGE = {DONE: "ok", PENDING: "info", LATE: "bad", NOT_APPLICABLE: "muted"}
STEP_STATE_LABEL = {DONE: "done", PENDING: "pending", LATE: "late", NOT_APPLICABLE: "n/a"}
STATUS_BADGE = {
    "reported": "warn",
    "triaged": "info",
    "investigating": "info",
    "identified": "info",
    "monitoring": "info",
    "resolved": "ok",
    "closed": "muted",
    "rejected": "muted",
}

NEXT_ACTION = {
    "assess": ("Acknowledge the incident and collect all the information", "#assess"),
    "categorize": ("Categorize it: type, impact and severity", "#triage"),
    "communicate": ("Discuss it internally and inform the stakeholders", "#discussion"),
    "resolve": ("Work the guideline checklist and resolve it", "#checklist"),
    "inform": ("Announce the resolution to the team and the stakeholders", "communications"),
    "document": ("Review the timeline and close the incident", "#close"),
}


@dataclass
class TriageState:
    type: str
    impact: str
    severity: str
    suggested: str | None
    suggested_impact: str | None
    reason: str = ""
    suggested_impact_label: str = ""

    @property
    def overridden(self) -> bool:
        return self.suggested is not None and self.severity != self.suggested


def triage_state(incident: Incident, policy: Policy, data: QueryDict | None) -> TriageState:
    """The triage form's values: what the user chose (kept across re-renders) or the incident's,
    with the severity the policy matrix suggests for that type and impact."""
    data = data if data is not None else QueryDict()
    type_key = data.get("type", incident.type or "")
    impact = data.get("impact", incident.impact or "")
    affected = incident.affected_orgs.count()
    total = StakeholderOrg.objects.filter(active=True).count()
    suggested_impact = policy.suggest_impact(affected, total)
    if not impact and suggested_impact:
        impact = suggested_impact
    suggested = (
        policy.suggest_severity(type_key, impact)
        if type_key in policy.types and impact in policy.impacts
        else None
    )
    severity = data.get("severity", incident.severity or "")
    previous_suggestion = data.get("suggested", "")
    # follow the suggestion until the member picks another severity on purpose
    if suggested and (not severity or severity == previous_suggestion):
        severity = suggested
    impact_kind = policy.impacts.get(suggested_impact or "")
    return TriageState(
        type_key,
        impact,
        severity,
        suggested,
        suggested_impact,
        data.get("reason", ""),
        impact_kind.label if impact_kind else "",
    )


def _incident_context(
    request: HttpRequest,
    incident: Incident,
    *,
    form: str = "",
    data: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
    live_since: int | None = None,
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    policy = policy_for(incident)
    now = clock.now()
    steps = policy_steps(incident)
    timeline = _timeline_context(request, incident, live_since)
    status = Status(incident.status)
    can_act = {
        name: can(user, f"incident.{name}")
        for name in (
            "acknowledge",
            "categorize",
            "assign",
            "assign_self",
            "set_status",
            "note",
            "request_info",
            "resolve",
            "close",
            "reject",
            "reopen",
            "task_update",
        )
    }
    is_open = status in lifecycle.OPEN
    tasks = list(incident.tasks.select_related("done_by"))
    open_tasks = [t for t in tasks if t.state == TaskState.OPEN]
    # what other parts of the product ask before closing (a required review), so "Close" is
    # offered only when it can succeed, and the reason is shown when it cannot
    close_refusal = None
    if status == Status.RESOLVED:
        close_refusal = services.close_refusal(incident)
    show = {
        "acknowledge": can_act["acknowledge"] and is_open and incident.acknowledged_at is None,
        "triage": can_act["categorize"] and status not in lifecycle.FINISHED,
        "roles": can_act["assign_self"] and status not in (Status.CLOSED, Status.REJECTED),
        **_role_actions(incident, user, can_act["assign"]),
        "status": can_act["set_status"]
        and status not in lifecycle.FINISHED
        and bool(lifecycle.allowed_from(status) & lifecycle.MANUAL_STATUSES),
        "note": can_act["note"],
        "request_info": can_act["request_info"] and is_open,
        "resolve": can_act["resolve"] and Status.RESOLVED in lifecycle.allowed_from(status),
        "close": can_act["close"] and status == Status.RESOLVED and close_refusal is None,
        "reject": can_act["reject"] and Status.REJECTED in lifecycle.allowed_from(status),
        "reopen": can_act["reopen"] and status in lifecycle.FINISHED,
        "tasks": can_act["task_update"] and status not in (Status.CLOSED, Status.REJECTED),
    }
    next_step = next((s for s in steps if s.state in (PENDING, LATE) and s.done_at is None), None)
    next_action = None
    if next_step is not None:
        text, anchor = NEXT_ACTION[next_step.key]
        if next_step.key == "assess" and incident.acknowledged_at is not None:
            text = "Wait for the reporter's answer, or collect the information another way"
        if next_step.key == "communicate" and "internal" not in next_step.detail:
            text, anchor = "Inform the stakeholders", "communications"
        if anchor == "communications":
            anchor = f"/incidents/{incident.ref}/update"
        if next_step.key == "document" and close_refusal is not None:
            text = "Write and publish the post-incident review; then the incident can be closed"
            anchor = f"/incidents/{incident.ref}/review"
        elif next_step.key == "document" and not show["close"]:
            text = "A manager reviews the timeline and closes the incident"
            anchor = "#timeline"
        next_action = {"step": next_step, "text": text, "href": anchor}
    notes = list(incident.timeline.filter(kind="note").select_related("actor").order_by("seq"))
    info_requests = list(incident.info_requests.select_related("asked_by", "answered_by"))
    return {
        "nav": "queue",
        "incident": incident,
        "policy": policy,
        "type_label": policy.types[incident.type].label if incident.type in policy.types else "",
        "impact_label": (
            policy.impacts[incident.impact].label if incident.impact in policy.impacts else ""
        ),
        "status_badge": STATUS_BADGE.get(incident.status, "info"),
        # planned work: the windows this incident owns on the status page
        "schedules_maintenance": policy.schedules_maintenance(incident.type),
        "maintenances": list(incident.maintenances.order_by("scheduled_for")),
        "clocks": sla_clocks(incident, policy, now),
        "steps": [_step_row(s, open_tasks) for s in steps],
        "next_action": next_action,
        "triage": triage_state(incident, policy, data if form == "triage" else None),
        "required_information": (
            policy.types[incident.type].required_information
            if incident.type in policy.types
            else []
        ),
        "tasks": tasks,
        "open_tasks": open_tasks,
        "close_refusal": close_refusal,
        "can_close": can_act["close"],
        "affected_orgs": list(incident.affected_orgs.all()),
        "task_states": TaskState,
        "notes": notes,
        "info_requests": info_requests,
        **timeline,
        "timeline": [
            {"entry": e, "label": kind_label(e.kind), "text": describe(e, policy)}
            for e in timeline["timeline"]
        ],
        "show": show,
        "manual_statuses": lifecycle.manual_choices(status),
        "team": User.objects.filter(
            is_active=True, role__in=["admin", "manager", "member"]
        ).order_by("email"),
        "form": form,
        "data": data if data is not None else QueryDict(),
        "errors": errors or {},
        "poll_seconds": POLL_SECONDS,
    }


def _timeline_context(
    request: HttpRequest, incident: Incident, live_since: int | None
) -> dict[str, Any]:
    """The timeline panel: the people's entries (or the kind chosen), newest first, a page at
    a time, with the entries the product writes itself summed up. Polled (`live_since`), only
    the entries written since the page's last one."""
    kind = request.GET.get("kind", "")
    cursor = request.GET.get("before", "")
    notice = ""
    before = None
    if cursor:
        try:
            before = timeline_window.decode_cursor(cursor, field="before")
        except InvalidInput:
            notice, cursor = "That page link is out of date: showing the newest entries.", ""
    counts = timeline_window.kind_counts(incident)
    mode = "page"
    rows: list[TimelineEntry] | None = None
    if live_since is not None and not cursor:
        rows = timeline_window.entries_since(incident, kind=kind, since=live_since)
        mode = "append" if rows is not None else "page"
    older = None
    if rows is None:
        window = timeline_window.team_window(incident, kind=kind, before=before, counts=counts)
        rows, older = window.rows, window.older
    choices = [(timeline_window.PEOPLE, "People's entries"), (timeline_window.ALL, "All entries")]
    return {
        "timeline": rows,
        "timeline_mode": mode,
        "timeline_summary": timeline_window.summary_of(incident, counts),
        "timeline_notice": notice,
        "older_query": urlencode({**({"kind": kind} if kind else {}), "before": older})
        if older
        else "",
        "paged": bool(cursor),
        "kinds": choices + [(k, kind_label(k)) for k in sorted(counts, key=kind_label)],
        "kind": kind,
        "live_query": urlencode(
            {
                "v": incident.version,
                "since": incident.timeline_seq,
                **({"kind": kind} if kind else {}),
                **({"before": cursor} if cursor else {}),
            }
        ),
    }


def _role_actions(incident: Incident, user: User, assigns: bool) -> dict[str, Any]:
    """The roles `user` may take (those held by someone else or nobody) and hand over (every
    role for a manager; those held for a member)."""
    held = {IncidentRole.LEAD: incident.assignee_id, IncidentRole.COMMS: incident.comms_lead_id}
    return {
        "take": [(r, role_label(r)) for r, pk in held.items() if pk != user.pk],
        "hand_over": [(r, role_label(r)) for r, pk in held.items() if assigns or pk == user.pk],
    }


def _step_row(step: StepState, open_tasks: list[Any]) -> dict[str, Any]:
    """A step as the page shows it. Resolving with guideline tasks still open is not "done":
    the step says how many are open until they are done or skipped."""
    label = "done late" if step.state == LATE and step.done_at else STEP_STATE_LABEL[step.state]
    badge = STEP_BADGE[step.state]
    if step.key == "resolve" and step.done_at and open_tasks:
        count = len(open_tasks)
        label = f"resolved, {count} task{'s' if count != 1 else ''} open"
        badge = "warn"
    return {"step": step, "badge": badge, "label": label}


@team_page
@require_GET
def incident_detail(request: HttpRequest, ref: str) -> HttpResponse:
    incident = incident_get_for(request.user, ref)  # type: ignore[arg-type]
    if incident.ref != ref:
        return redirect("incidents:detail", ref=incident.ref)
    return render(request, "incidents/incident.html", _incident_context(request, incident))


@team_page
@require_GET
def incident_live(request: HttpRequest, ref: str) -> HttpResponse:
    """Polled by the open incident page: 204 while nothing was written since its last entry
    (`since`); otherwise the changed panels, swapped in place (the forms keep what the user is
    typing), and of the timeline only the entries written since. Only a change
    by a person (a new version) comes with the advice to reload before acting; entries the
    system writes (deliveries, SLA warnings) just appear."""
    incident = incident_get_for(request.user, ref)  # type: ignore[arg-type]
    same_version = request.GET.get("v") == str(incident.version)
    since = request.GET.get("since", "")
    if same_version and since == str(incident.timeline_seq):
        return HttpResponse(status=204)
    # without a valid `since` (a page loaded before polls sent it) the whole window is sent
    seen = int(since) if since.isdigit() and len(since) <= 10 else None
    context = _incident_context(request, incident, live_since=seen)
    context["changed"] = not same_version
    return render(request, "incidents/_incident_live.html", context)


@team_page
@require_http_methods(["GET", "POST"])
def triage_form(request: HttpRequest, ref: str) -> HttpResponse:
    """The triage form re-rendered for a chosen type and impact, writing nothing: the fragment
    for htmx (GET), the whole page for the form's "Show suggested severity" button (POST)."""
    incident = incident_get_for(request.user, ref)  # type: ignore[arg-type]
    data = request.POST if request.method == "POST" else request.GET
    context = _incident_context(request, incident, form="triage", data=data)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "incidents/_triage.html", context)
    return render(request, "incidents/incident.html", context)


# -- actions --------------------------------------------------------------------------------


def _version(data: QueryDict) -> int:
    try:
        return int(data.get("version", ""))
    except ValueError:
        raise Conflict("This form is missing the incident's version; reload the page.") from None


def _act_acknowledge(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_acknowledge(by=user, incident=ref, expected_version=v)
    return "Acknowledged."


def _act_triage(user: User, ref: str, data: QueryDict, v: int) -> str:
    type_key, impact, severity = (
        data.get("type", ""),
        data.get("impact", ""),
        data.get("severity", ""),
    )
    if not severity:
        incident = incident_get_for(user, ref)
        policy = policy_for(incident)
        if type_key in policy.types and impact in policy.impacts:
            severity, _ = services.triage_suggestion(incident, type_key, impact)
    result = services.incident_categorize(
        by=user,
        incident=ref,
        type=type_key,
        severity=severity,
        impact=impact,
        reason=data.get("reason", ""),
        expected_version=v,
    )
    return f"Categorized as {result.incident.severity}."


def _act_assign(user: User, ref: str, data: QueryDict, v: int) -> str:
    assignee = data.get("assignee", "").strip() or None
    if data.get("self"):
        assignee = user.email
    incident_assign(by=user, incident=ref, assignee=assignee, expected_version=v)
    return f"Assigned to {assignee}." if assignee else "Unassigned."


def _act_roles(user: User, ref: str, data: QueryDict, v: int) -> str:
    role = data.get("role", "")
    to = data.get("to", "").strip() or None
    incident = incident_hand_over(
        by=user, incident=ref, role=role, to=to, note=data.get("note", ""), expected_version=v
    )
    holder = incident.assignee if role == IncidentRole.LEAD else incident.comms_lead
    who = holder.display_name if holder is not None else "nobody"
    return f"{role_label(role).capitalize()}: {who}."


def _act_status(user: User, ref: str, data: QueryDict, v: int) -> str:
    status = data.get("status", "")
    services.incident_set_status(by=user, incident=ref, status=status, expected_version=v)
    return f"Status is now {status}."


def _act_note(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_add_note(by=user, incident=ref, body=data.get("body", ""))
    return "Note added."


def _act_request_info(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_request_info(
        by=user, incident=ref, question=data.get("question", ""), expected_version=v
    )
    return "Question sent to the reporter."


def _act_task(user: User, ref: str, data: QueryDict, v: int) -> str:
    try:
        task_id = int(data.get("task", ""))
    except ValueError:
        raise NotFound("No such task.") from None
    task = services.incident_task_update(
        by=user,
        incident=ref,
        task_id=task_id,
        state=data.get("state", ""),
        reason=data.get("reason", ""),
        expected_version=v,
    )
    return f"“{task.title}” is {task.state}."


def _act_resolve(user: User, ref: str, data: QueryDict, v: int) -> str:
    # the policy's guideline is worked before resolving: with tasks still open, the member
    # confirms on purpose (the tasks are recorded as left open in the timeline)
    incident = incident_get_for(user, ref)
    left_open = list(incident.tasks.filter(state=TaskState.OPEN).values_list("title", flat=True))
    if left_open and not data.get("confirm_open_tasks"):
        count = len(left_open)
        message = (
            f"{count} guideline task{'s are' if count != 1 else ' is'} still open: "
            f"{', '.join(left_open)}. Do or skip {'them' if count != 1 else 'it'}, or confirm "
            "that you resolve with them open."
        )
        raise InvalidInput("Not resolved yet.", [FieldError("confirm_open_tasks", message)])
    services.incident_resolve(
        by=user, incident=ref, summary=data.get("summary", ""), expected_version=v
    )
    return "Resolved."


def _act_close(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_close(by=user, incident=ref, expected_version=v)
    return "Closed."


def _act_reject(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_reject(
        by=user,
        incident=ref,
        reason=data.get("reason", ""),
        duplicate_of=data.get("duplicate_of", "").strip() or None,
        expected_version=v,
    )
    return "Rejected."


def _act_reopen(user: User, ref: str, data: QueryDict, v: int) -> str:
    services.incident_reopen(
        by=user, incident=ref, reason=data.get("reason", ""), expected_version=v
    )
    return "Reopened."


ACTIONS: dict[str, Callable[[User, str, QueryDict, int], str]] = {
    "acknowledge": _act_acknowledge,
    "triage": _act_triage,
    "assign": _act_assign,
    "roles": _act_roles,
    "status": _act_status,
    "note": _act_note,
    "request-info": _act_request_info,
    "task": _act_task,
    "resolve": _act_resolve,
    "close": _act_close,
    "reject": _act_reject,
    "reopen": _act_reopen,
}


@team_page
@require_POST
def incident_action(request: HttpRequest, ref: str, action: str) -> HttpResponse:
    handler = ACTIONS.get(action)
    if handler is None or not REF.match(ref):
        raise Http404("No such action.")
    user: User = request.user  # type: ignore[assignment]
    incident = incident_get_for(user, ref)
    form = action
    try:
        message = handler(user, incident.ref, request.POST, _version(request.POST))
    except InvalidInput as exc:
        errors: dict[str, list[str]] = {}
        for e in exc.errors:
            errors.setdefault(e.field, []).append(e.message)
        if not errors:
            errors["__all__"] = [exc.detail]
        fresh = incident_get_for(user, ref)
        context = _incident_context(request, fresh, form=form, data=request.POST, errors=errors)
        context["form_error"] = exc.detail
        return render(request, "incidents/incident.html", context, status=200)
    except Conflict as exc:
        fresh = incident_get_for(user, ref)
        context = _incident_context(request, fresh, form=form, data=request.POST)
        context["conflict"] = exc.detail
        # "what you typed is kept" only when something was typed (closing types nothing)
        context["typed"] = any(
            str(value).strip()
            for key in request.POST
            if key not in ("csrfmiddlewaretoken", "version", "task", "state")
            for value in request.POST.getlist(key)
        )
        return render(request, "incidents/incident.html", context, status=409)
    messages.success(request, f"{incident.ref}: {message}")
    return redirect("incidents:detail", ref=incident.ref)
