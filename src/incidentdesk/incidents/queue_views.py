"""The queue's tools as pages: save and delete a view of its filters, act on the selected
incidents. Each is a POST form that calls one service and comes back to the queue."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from incidentdesk.accounts.models import User
from incidentdesk.core.errors import InvalidInput

from . import queue_services
from .views import team_page

# the queue parameters a form may carry back (its filters and the page it was on)
BACK_PARAMS = (*queue_services.VIEW_PARAMS, "after")


def _back(request: HttpRequest, query: str | None = None) -> HttpResponse:
    raw = request.POST.get("back", "") if query is None else query
    kept = [(k, v) for k, v in parse_qsl(raw.lstrip("?")) if k in BACK_PARAMS and v]
    return redirect("/" + (f"?{urlencode(kept)}" if kept else ""))


def _problem(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, " ".join(e.message for e in exc.errors) or exc.detail)


@team_page
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        view = queue_services.saved_view_save(
            by=user, name=request.POST.get("name", ""), query=request.POST.get("back", "")
        )
    except InvalidInput as exc:
        _problem(request, exc)
        return _back(request)
    messages.success(request, f"Saved the view “{view.name}”.")
    return _back(request, view.query)


@team_page
@require_POST
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    name = next((v.name for v in queue_services.saved_views_of(user) if v.pk == view_id), "")
    queue_services.saved_view_delete(by=user, view_id=view_id)
    messages.success(request, f"Deleted the view “{name}”.")
    return _back(request)


@team_page
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge or assign every selected incident; the summary names each one skipped."""
    user: User = request.user  # type: ignore[assignment]
    refs = request.POST.getlist("incidents")
    action = request.POST.get("action", "")
    try:
        if action == "acknowledge":
            result = queue_services.incidents_bulk_acknowledge(by=user, refs=refs)
        elif action == "assign":
            assignee = request.POST.get("assignee", "").strip()
            if assignee == "me":
                assignee = user.email
            result = queue_services.incidents_bulk_assign(
                by=user, refs=refs, assignee=assignee or None
            )
        else:
            messages.error(request, "Choose what to do with the selected incidents.")
            return _back(request)
    except InvalidInput as exc:
        _problem(request, exc)
        return _back(request)
    level = messages.SUCCESS if not result.skipped else messages.WARNING
    messages.add_message(request, level, result.summary())
    return _back(request)
