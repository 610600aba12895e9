"""The team's on-call page and each person's calendar feed. Thin: writes are service calls."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from incidentdesk.accounts.pages import ROLE_MAY_NOT, team_page, team_page_for
from incidentdesk.accounts.permissions import can
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from incidentdesk.policy.selectors import active_policy

from . import feeds, selectors, services
from .models import Schedule
from .services import escalation

FEED_WEEKS = 8


def _local_input(value: str, tz: ZoneInfo) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=tz) if parsed.utcoffset() is None else parsed


@team_page
@require_http_methods(["GET", "POST"])
def oncall_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    error = ""
    if request.method == "POST":
        schedule = Schedule.objects.filter(pk=request.POST.get("schedule") or 0).first()
        if schedule is None:
            raise Http404("No such schedule.")
        tz = ZoneInfo(schedule.time_zone)
        start = _local_input(request.POST.get("starts_at", ""), tz)
        end = _local_input(request.POST.get("ends_at", ""), tz)
        if start is None or end is None:
            error = "Give the start and the end of the shift you take."
        else:
            try:
                services.override_create(
                    by=user,  # type: ignore[arg-type]
                    schedule=schedule,
                    user=user,  # type: ignore[arg-type]
                    starts_at=start,
                    ends_at=end,
                )
                return redirect(reverse("oncall:page"))
            except DomainError as exc:
                error = " ".join([exc.detail, *(e.message for e in exc.errors)])
    now = clock.now()
    return render(
        request,
        "ingest/oncall.html",
        {
            "nav": "oncall",
            "oncall": selectors.oncall_everywhere(now),
            "mine": selectors.person_shifts(user, now, now + dt.timedelta(weeks=2)),  # type: ignore[arg-type]
            "feed_url": request.build_absolute_uri(
                reverse("oncall:feed", args=[feeds.feed_token(user)])  # type: ignore[arg-type]
            ),
            "escalation": selectors.escalation_overview(active_policy()[1], now),
            "error": error,
        },
        status=422 if error else 200,
    )


def oncall_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = feeds.feed_user(token)
    if user is None:
        raise Http404("No such calendar.")
    now = clock.now()
    shifts = selectors.person_shifts(
        user, now - dt.timedelta(weeks=1), now + dt.timedelta(weeks=FEED_WEEKS)
    )
    return HttpResponse(
        feeds.calendar(user, shifts, now), content_type="text/calendar; charset=utf-8"
    )


@require_http_methods(["GET", "POST"])
def acknowledge_link(request: HttpRequest, token: str) -> HttpResponse:
    """A page's acknowledge link. GET only asks (mail scanners fetch links on their own);
    the button POSTs, which acknowledges as the person paged, without a login."""
    try:
        link = escalation.ack_link_get(token)
    except NotFound as exc:
        return render(request, "ingest/ack.html", {"problem": exc.detail}, status=404)
    if request.method == "POST":
        try:
            incident = escalation.ack_link_use(token=token)
        except Conflict as exc:
            return render(request, "ingest/ack.html", {"problem": exc.detail}, status=409)
        return render(
            request, "ingest/ack.html", {"link": link, "incident": incident, "done": True}
        )
    problem = escalation.ack_link_problem(link)
    return render(
        request,
        "ingest/ack.html",
        {"link": link, "incident": link.incident, "problem": problem},
        status=409 if problem else 200,
    )


def _integrations(request: HttpRequest, **extra: object) -> HttpResponse:
    user = request.user
    context = {
        "nav": "oncall",
        "integrations": services.integration_list(by=user),  # type: ignore[arg-type]
        "may_manage": can(user, "integration.manage"),
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        **extra,
    }
    status = 422 if extra.get("error") else 200
    return render(request, "ingest/integrations.html", context, status=status)


@team_page
@require_http_methods(["GET", "POST"])
def integrations_page(request: HttpRequest) -> HttpResponse:
    """The team's monitoring sources; a manager creates one here and sees its key once."""
    user = request.user
    if request.method == "GET":
        return _integrations(request)
    if not can(user, "integration.manage"):
        raise PermissionDenied(ROLE_MAY_NOT)
    try:
        key, created = services.integration_create(
            by=user,  # type: ignore[arg-type]
            name=request.POST.get("name", ""),
            component=request.POST.get("component", ""),
            type=request.POST.get("type", ""),
            auto_resolve=bool(request.POST.get("auto_resolve")),
        )
    except DomainError as exc:
        return _integrations(
            request, error=" ".join([exc.detail, *(e.message for e in exc.errors)])
        )
    return _integrations(request, created=created, key=key)


@team_page_for("integration.manage")
@require_POST
def integration_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    services.integration_revoke(by=request.user, integration_id=pk)  # type: ignore[arg-type]
    return redirect(reverse("oncall:integrations"))
