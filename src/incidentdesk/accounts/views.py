from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from incidentdesk.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied

from .forms import LoginForm, OrgCreateForm, UserCreateForm
from .models import Role, StakeholderOrg, User
from .permissions import can
from .services import org_get_or_create, org_set_active, user_create, user_update

PORTAL_URL = "/portal/"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        user = self.request.user
        if getattr(user, "is_team", False):
            return super().get_success_url()
        # Stakeholders live in the portal; a team page in ?next= is no place for them.
        target = self.get_redirect_url()
        if target.startswith(PORTAL_URL) and url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}
        ):
            return target
        return PORTAL_URL


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/password/done/"


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


# -- people (admin) ------------------------------------------------------------------------


def _admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can(request.user, "user.manage"):
            return render(
                request,
                "incidents/forbidden.html",
                {"detail": "Only an administrator manages people."},
                status=403,
            )
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return render(request, "incidents/forbidden.html", {"detail": exc.detail}, status=403)

    return wrapper


def _people_page(
    request: HttpRequest,
    user_form: UserCreateForm | None = None,
    org_form: OrgCreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "accounts/people.html",
        {
            "nav": "people",
            "people": User.objects.select_related("organisation").order_by("role", "email"),
            "orgs": StakeholderOrg.objects.annotate(n=Count("users")).order_by("name"),
            "roles": Role.choices,
            "user_form": user_form or UserCreateForm(),
            "org_form": org_form or OrgCreateForm(),
        },
        status=status,
    )


def _apply_errors(form: forms.Form, exc: DomainError) -> None:
    fields = set(form.fields)
    aliases = {"org": "organisation"}
    if not exc.errors or isinstance(exc, Conflict):
        form.add_error(None, exc.detail)
        return
    for e in exc.errors:
        name = aliases.get(e.field, e.field)
        form.add_error(name if name in fields else None, e.message)


@_admin_only
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    return _people_page(request)


@_admin_only
@require_POST
def person_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                by=request.user,  # type: ignore[arg-type]
                email=data["email"],
                password=data["password"],
                role=data["role"],
                org_name=data["organisation"] or None,
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except (InvalidInput, Conflict) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Account {user.email} created.")
            return redirect("accounts:people")
    return _people_page(request, user_form=form)


@_admin_only
@require_POST
def person_update(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    role = request.POST.get("role") or None
    active = {"1": True, "0": False}.get(request.POST.get("active", ""))
    try:
        user_update(by=request.user, user=person, role=role, active=active)  # type: ignore[arg-type]
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"{person.email}: {exc.detail}")
    else:
        messages.success(request, f"{person.email} updated.")
    return redirect("accounts:people")


@_admin_only
@require_POST
def org_create(request: HttpRequest) -> HttpResponse:
    form = OrgCreateForm(request.POST)
    if form.is_valid():
        try:
            org = org_get_or_create(by=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Organisation {org.name} is in place.")
            return redirect("accounts:people")
    return _people_page(request, org_form=form)


@_admin_only
@require_POST
def org_update(request: HttpRequest, org_id: int) -> HttpResponse:
    org = get_object_or_404(StakeholderOrg, pk=org_id)
    active = request.POST.get("active") == "1"
    org_set_active(by=request.user, org=org, active=active)  # type: ignore[arg-type]
    messages.success(request, f"{org.name} is now {'active' if active else 'inactive'}.")
    return redirect("accounts:people")
