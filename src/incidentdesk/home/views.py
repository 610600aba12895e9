"""Each role's home page: what needs them today, in plain words, each line a link."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from incidentdesk.accounts.models import Role, User
from incidentdesk.core import clock
from incidentdesk.incidents.views import NEXT_ACTION

from .selectors import manager_day, member_day

MANAGERS = (Role.MANAGER, Role.ADMIN)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_team:
        # stakeholders keep the portal as their home
        return redirect("/portal/")
    mine = [
        {
            "row": row,
            "next": NEXT_ACTION[row.step_key][0] if row.step_key else "All steps are complete",
        }
        for row in member_day(user)
    ]
    context = {
        "nav": "home",
        "mine": mine,
        "is_manager": user.role in MANAGERS,
        "day": manager_day() if user.role in MANAGERS else None,
        "now": clock.now(),
    }
    return render(request, "home/home.html", context)
