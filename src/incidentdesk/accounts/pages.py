"""The one access rule of the pages, with one answer for each case:

- not signed in: to the sign-in page, and back afterwards (an htmx request is told to load
  the sign-in page as a whole, not to swap it into a fragment);
- signed in, on a page of the other audience (a stakeholder on a team page, a team member on
  a portal page): 403 "Not allowed", with a link to the caller's own start page. Which pages
  exist is no secret, so saying it is not theirs reveals nothing;
- an object the caller may not see, or that does not exist (the service raises NotFound):
  404, the same for both, so a reference reveals nothing;
- signed in as the page's audience, but on a page of a role they do not have (a member on a
  manager's page, `team_page_for`): 403 with the reason;
- an object the caller sees but an action their role may not take (PermissionDenied): 403.

The JSON API answers the same cases with 401, 403, 404 and 403 (`accounts.api_auth`,
`core.api`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from incidentdesk.core.errors import NotFound, PermissionDenied

from .permissions import can

View = Callable[..., HttpResponseBase]

TEAM_ONLY = "This page is for the Incident Management Team."
STAKEHOLDERS_ONLY = "This page is for the people who report incidents to the team."
ROLE_MAY_NOT = "Your role may not use this page."


def not_allowed(request: HttpRequest, detail: str) -> HttpResponse:
    return render(request, "forbidden.html", {"detail": detail}, status=403)


def _sign_in(request: HttpRequest) -> HttpResponseBase:
    if getattr(request, "htmx", False):
        # a page left open after its session ended: send the whole page to sign in rather
        # than swapping the sign-in form into a fragment
        response = HttpResponse(status=204)
        back = request.htmx.current_url_abs_path or "/"  # type: ignore[attr-defined]
        response["HX-Redirect"] = f"{settings.LOGIN_URL}?{urlencode({'next': back})}"
        return response
    return redirect_to_login(request.get_full_path())


def _page(
    audience: str, checks: tuple[tuple[Callable[[Any], bool], str], ...]
) -> Callable[[View], View]:
    """The decorator of a page for `audience`: each check in turn, the first that fails
    answers 403 with its refusal. The view is marked with its audience (`page_audience`), so
    tests can find every page of each audience from the URL resolver."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _sign_in(request)
            for allowed, refusal in checks:
                if not allowed(request.user):
                    return not_allowed(request, refusal)
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.detail) from None
            except PermissionDenied as exc:
                return not_allowed(request, exc.detail)

        wrapper.page_audience = audience  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _is_team(user: Any) -> bool:
    return bool(user.is_team)


team_page = _page("team", ((_is_team, TEAM_ONLY),))
"""A page of the Incident Management Team's."""

stakeholder_page = _page(
    "stakeholders", ((lambda user: can(user, "portal.use"), STAKEHOLDERS_ONLY),)
)
"""A page of the stakeholder portal."""

signed_in_page = _page("signed_in", ())
"""A page for anyone signed in, team or stakeholder (their own preferences, tokens, security)."""


def team_page_for(action: str, refusal: str = ROLE_MAY_NOT) -> Callable[[View], View]:
    """A team page that also needs `action` of the caller's role (a manager's or an
    administrator's page): a stakeholder is told it is the team's page, a team member whose
    role may not is told `refusal`; both 403."""
    return _page("team", ((_is_team, TEAM_ONLY), (lambda user: can(user, action), refusal)))
