"""The review page, the action items list, the insights pages and the incident report
download. Thin: writes are service calls; figures come from `insights.figures`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from incidentdesk.accounts.models import User
from incidentdesk.accounts.pages import team_page
from incidentdesk.accounts.permissions import can, require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from incidentdesk.core.markdown import render_markdown
from incidentdesk.incidents.selectors import incident_get_for

from . import charts, export, metrics, services
from . import insights as insights_range
from .blameless import check
from .conformance import incident_conformance
from .insights import DEFAULT_DAYS, figures, parse_range
from .models import SECTIONS, ActionKind, ActionStatus, ReviewRevision
from .selectors import (
    UNFINISHED,
    ActionFilters,
    action_items_for,
    local_date,
    review_for,
    review_requirement,
    team_names,
)

View = Callable[..., HttpResponseBase]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _back(request: HttpRequest, ref: str) -> HttpResponse:
    return redirect(f"/incidents/{ref.upper()}/review")


def _act(request: HttpRequest, ref: str, action: Callable[[], Any], done: str) -> HttpResponse:
    """Run a form's action; when it is refused, show the page again with what was typed."""
    try:
        action()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        # a section by its heading ("Trigger and contributing factors"), never its key
        names = dict(SECTIONS)
        details = [exc.detail] + [
            f"{names.get(key, key.replace('_', ' ').capitalize())}: {e.message}"
            for e in exc.errors
            if e.message != exc.detail
            for key in [e.field.removeprefix("sections.")]
        ]
        messages.error(request, " ".join(details))
        context = _review_context(request, ref, posted=request.POST)
        status = 409 if isinstance(exc, Conflict) else 200
        return render(request, "reviews/review.html", context, status=status)
    messages.success(request, done)
    return _back(request, ref)


def _review_context(request: HttpRequest, ref: str, posted: Any = None) -> dict[str, Any]:
    """The review page. With `posted` (a refused form), the review text, the picks and the
    action item show what the user typed, not what is stored."""
    user = _user(request)
    incident, review = review_for(user, ref)
    entries = list(incident.timeline.order_by("seq"))
    picks = {p["seq"]: p["note"] for p in (review.picks if review else [])}
    typed = posted is not None and any(key in posted for key, _ in SECTIONS)
    if typed:
        picks = {p["seq"]: p["note"] for p in _picks_from(posted)}
    labels = dict(SECTIONS)
    today = local_date(clock.now())
    sections = [
        {
            "key": key,
            "label": label,
            "text": posted.get(key, "")
            if typed
            else (review.sections.get(key, "") if review else ""),
            "html": render_markdown(review.sections.get(key, "")) if review else "",
        }
        for key, label in SECTIONS
    ]
    return {
        "incident": incident,
        "review": review,
        "need": review_requirement(incident, review),
        "sections": sections,
        "entries": [
            {"entry": e, "picked": e.seq in picks, "note": picks.get(e.seq, "")} for e in entries
        ],
        "picked_entries": [
            {"entry": e, "note": render_markdown(picks[e.seq])} for e in entries if e.seq in picks
        ],
        "findings": [
            {
                "label": labels.get(f.section, f.section),
                "phrase": f.phrase,
                "suggestion": f.suggestion,
            }
            for f in (check(review.sections, team_names()) if review else [])
        ],
        "comments": [
            {"comment": c, "label": labels.get(c.section, "")}
            for c in (review.comments.select_related("author") if review else [])
        ],
        "revisions": review.revisions.select_related("saved_by") if review else [],
        "items": [
            {"item": i, "overdue": i.status in UNFINISHED and i.due_date < today}
            for i in action_items_for(user, ActionFilters(incident=incident.ref))
        ],
        "kinds": ActionKind.choices,
        "statuses": ActionStatus.choices,
        "team": User.objects.filter(is_active=True).exclude(role="stakeholder"),
        "today": today,
        "conformance": incident_conformance(incident),
        "can_edit": can(user, "review.edit"),
        "can_waive": can(user, "review.waive"),
        "can_close": can(user, "incident.close"),
        "item": {
            key: (posted.get(key, "") if posted is not None else "")
            for key in ("title", "kind", "owner", "due_date")
        },
        "comment": {
            key: (posted.get(key, "") if posted is not None else "") for key in ("body", "section")
        },
        "waive_reason": posted.get("reason", "") if posted is not None else "",
        "nav": "queue",
    }


@require_GET
@team_page
def review_page(request: HttpRequest, ref: str) -> HttpResponse:
    return render(request, "reviews/review.html", _review_context(request, ref))


@require_GET
@team_page
def revision_page(request: HttpRequest, ref: str, number: int) -> HttpResponse:
    incident, review = review_for(_user(request), ref)
    revision = (
        ReviewRevision.objects.filter(review=review, number=number)
        .select_related("saved_by")
        .first()
        if review
        else None
    )
    if revision is None:
        raise Http404(f"{incident.ref} has no review revision {number}.")
    sections = [
        {"label": label, "html": render_markdown(revision.sections.get(key, ""))}
        for key, label in SECTIONS
        if revision.sections.get(key)
    ]
    return render(
        request,
        "reviews/revision.html",
        {"incident": incident, "revision": revision, "sections": sections},
    )


@require_POST
@team_page
def review_start(request: HttpRequest, ref: str) -> HttpResponse:
    return _act(
        request,
        ref,
        lambda: services.review_start(by=_user(request), incident=ref),
        "Review started from the template.",
    )


def _picks_from(post: Any) -> list[dict[str, Any]]:
    picks = []
    for value in post.getlist("pick"):
        if value.isdigit():
            picks.append({"seq": int(value), "note": post.get(f"note_{value}", "")})
    return picks


@require_POST
@team_page
def review_save(request: HttpRequest, ref: str) -> HttpResponse:
    user = _user(request)
    sections = {key: request.POST.get(key, "") for key, _ in SECTIONS}
    then = request.POST.get("then", "")

    def save() -> None:
        services.review_save(
            by=user, incident=ref, sections=sections, picks=_picks_from(request.POST)
        )
        if then == "submit":
            services.review_submit(by=user, incident=ref)
        elif then == "publish":
            services.review_publish(by=user, incident=ref)

    done = {"submit": "Review sent to the team for comments.", "publish": "Review published."}
    response = _act(request, ref, save, done.get(then, "Review saved."))
    item_title = request.POST.get("title", "").strip()
    if response.status_code == 302 and item_title:
        # an action item typed but not added (Enter in its fields saves the review): the
        # page shows it again, ready to add, instead of dropping it
        messages.warning(request, f"The action item “{item_title}” is not added yet.")
        context = _review_context(request, ref)
        context["item"] = {
            key: request.POST.get(key, "") for key in ("title", "kind", "owner", "due_date")
        }
        return render(request, "reviews/review.html", context)
    return response


@require_POST
@team_page
def review_comment(request: HttpRequest, ref: str) -> HttpResponse:
    return _act(
        request,
        ref,
        lambda: services.review_comment(
            by=_user(request),
            incident=ref,
            body=request.POST.get("body", ""),
            section=request.POST.get("section", ""),
        ),
        "Comment added.",
    )


@require_POST
@team_page
def review_waive(request: HttpRequest, ref: str) -> HttpResponse:
    return _act(
        request,
        ref,
        lambda: services.review_waive(
            by=_user(request), incident=ref, reason=request.POST.get("reason", "")
        ),
        "Review waived; the reason is in the timeline.",
    )


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@require_POST
@team_page
def action_create(request: HttpRequest, ref: str) -> HttpResponse:
    """Add an action item. From the review page the review text typed beside it comes too
    and is saved with it, so adding an item never loses what was written."""
    typed = any(key in request.POST for key, _ in SECTIONS)
    sections = {key: request.POST.get(key, "") for key, _ in SECTIONS} if typed else None
    return _act(
        request,
        ref,
        lambda: services.action_item_add(
            by=_user(request),
            incident=ref,
            title=request.POST.get("title", ""),
            kind=request.POST.get("kind", ""),
            owner=request.POST.get("owner", ""),
            due_date=_date(request.POST.get("due_date")),
            sections=sections,
            picks=_picks_from(request.POST) if typed else None,
        ),
        "Action item added. The review text is saved with it." if typed else "Action item added.",
    )


@require_POST
@team_page
def action_update(request: HttpRequest, item_id: int) -> HttpResponse:
    try:
        item = services.action_item_update(
            by=_user(request), item_id=item_id, status=request.POST.get("status") or None
        )
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"“{item.title}” is now {item.get_status_display().lower()}.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/actions/")


@require_GET
@team_page
def actions_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = ActionFilters(
        status=request.GET.get("status") or None,
        kind=request.GET.get("kind") or None,
        owner=request.GET.get("owner") or None,
    )
    try:
        items = list(action_items_for(user, filters)[:500])
    except DomainError as exc:
        messages.error(request, exc.detail)
        items, filters = list(action_items_for(user, ActionFilters())[:500]), ActionFilters()
    all_items = action_items_for(user, ActionFilters())
    today = local_date(clock.now())
    summary = metrics.action_items(
        [
            metrics.ActionRecord(a.due_date, a.status, local_date(a.done_at) if a.done_at else None)
            for a in all_items
        ],
        today,
    )
    return render(
        request,
        "reviews/actions.html",
        {
            "items": items,
            "filters": filters,
            "summary": summary,
            "kinds": ActionKind.choices,
            "statuses": ActionStatus.choices,
            "today": today,
            "nav": "actions",
            "query": request.GET.urlencode(),
        },
    )


def _figures(
    request: HttpRequest, latest: int | None = None
) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
    """`latest`: without dates chosen, the figures of at most that many newest incidents."""
    raw = {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")}
    try:
        first, last = parse_range(raw["from"] or None, raw["to"] or None)
    except DomainError as exc:
        return None, raw, [e.message for e in exc.errors] or [exc.detail]
    chosen = bool(raw["from"].strip() or raw["to"].strip())
    return (
        figures(_user(request), first, last, latest=None if chosen else latest),
        {"from": first.isoformat(), "to": last.isoformat()},
        [],
    )


def _duration_view(d: dict[str, Any]) -> dict[str, Any]:
    def rows(groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "count": s["count"],
                "median": charts.duration_text(s["median"]),
                "p90": charts.duration_text(s["p90"]),
                "mean": charts.duration_text(s["mean"]),
            }
            for name, s in groups.items()
        ]

    by_severity = d["by_severity"]
    return {
        **d,
        "rows": rows({"All": d["overall"], **by_severity}),
        "type_rows": rows(d["by_type"]),
        "month_rows": rows(d["by_month"]),
        "chart": charts.bars(
            f"{d['label']} ({d['spans']}): median by severity",
            [(k, v["median"]) for k, v in by_severity.items()],
            charts.duration_text,
        ),
        "month_chart": charts.line(
            f"{d['label']}: median by month",
            [(k, v["median"]) for k, v in d["by_month"].items()],
            charts.duration_text,
        ),
    }


@require_GET
@team_page
def insights(request: HttpRequest) -> HttpResponse:
    require(_user(request), "insights.view")
    result, shown, errors = _figures(request, insights_range.DEFAULT_LATEST)
    context: dict[str, Any] = {"range": shown, "errors": errors, "nav": "insights"}
    if result is not None and "latest" in result:
        context.update(
            default_days=DEFAULT_DAYS,
            latest_since=dt.datetime.fromisoformat(result["latest"]["since"]),
        )
    if result is not None:
        counts = result["counts"]
        context.update(
            figures=result,
            durations=[_duration_view(d) for d in result["durations"]],
            count_chart=charts.line(
                "Incidents reported per month",
                list(counts["by_month"].items()),
                charts.count_text,
            ),
            type_chart=charts.bars(
                "Incidents by type", list(counts["by_type"].items()), charts.count_text
            ),
            sla_chart=charts.bars(
                "SLA targets met",
                [(s["target"].replace("_", " "), s["rate"]) for s in result["sla"]],
                charts.percent_text,
            ),
            conformance_chart=charts.bars(
                "Policy steps done on time",
                [(f"Step {s['number']}", s["rate"]) for s in result["conformance"]["steps"]],
                charts.percent_text,
            ),
            query=f"from={shown['from']}&to={shown['to']}",
        )
    return render(request, "reviews/insights.html", context, status=422 if errors else 200)


@require_GET
@team_page
def insights_export(request: HttpRequest, fmt: str) -> HttpResponse:
    require(_user(request), "insights.view")
    result, shown, errors = _figures(request)
    if result is None:
        return HttpResponse(
            json.dumps({"detail": "The date range is not valid.", "errors": errors}),
            status=422,
            content_type="application/json",
        )
    name = f"incidentdesk-metrics-{shown['from']}-{shown['to']}"
    if fmt == "json":
        response = HttpResponse(
            json.dumps(result, indent=2, default=str), content_type="application/json"
        )
    else:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=["figure", "group", "key", "measure", "value", "spans"]
        )
        writer.writeheader()
        writer.writerows(metrics.flatten(result))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@require_GET
@team_page
def incident_export(request: HttpRequest, ref: str, fmt: str) -> HttpResponse:
    user = _user(request)
    require(user, "incident.export")
    incident = incident_get_for(user, ref)
    record = export.incident_record(incident)
    if fmt == "json":
        response = HttpResponse(export.as_json(record), content_type="application/json")
    else:
        response = HttpResponse(
            export.as_markdown(record), content_type="text/markdown; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{incident.ref}.{fmt}"'
    return response
