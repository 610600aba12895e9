from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .selectors import IncidentFilters, incident_list_for, page_by_id


def _team_only(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_team:  # type: ignore[union-attr]
        return redirect("/portal/")
    return None


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    if (response := _team_only(request)) is not None:
        return response
    qs = incident_list_for(request.user, IncidentFilters(open_only=True))  # type: ignore[arg-type]
    items, next_cursor = page_by_id(qs.select_related("assignee"), request.GET.get("after"), 50)
    return render(
        request,
        "incidents/queue.html",
        {"nav": "queue", "incidents": items, "next_cursor": next_cursor},
    )
