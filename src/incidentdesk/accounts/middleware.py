"""With a second factor required, a team member without one reaches only the enrolment."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from . import factors
from .models import User
from .security_views import strong_session

# what a person on the way to a second factor may still reach
OPEN_PREFIXES = ("/account/", "/login/", "/logout/", "/static/", "/healthz", "/readyz")


class SecondFactorRequired:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            isinstance(user, User)
            and user.is_team
            and not request.path.startswith(OPEN_PREFIXES)
            and not strong_session(request)
            # last: it may read the active policy
            and factors.second_factor_required(user)
        ):
            if factors.has_second_factor(user):
                # a session from before the factor was required, or from before it was added
                # elsewhere: sign in again, with it
                logout(request)
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "Your account needs a second factor: set one up at /account/.",
                        "errors": [],
                    },
                    status=403,
                )
            return redirect("accounts:account")
        return self.get_response(request)
