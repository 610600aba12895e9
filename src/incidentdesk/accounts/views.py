from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from incidentdesk.core import clock
from incidentdesk.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

from . import factors
from .forms import LoginForm, OrgCreateForm, TokenCreateForm, UserCreateForm
from .models import ApiToken, Role, StakeholderOrg, User
from .pages import signed_in_page, team_page_for
from .providers import ENVIRONMENT, ProviderConfig, enabled_provider, sign_in_buttons
from .selectors import token_get_for, tokens_of
from .services import (
    SignInRefused,
    org_get_or_create,
    org_set_active,
    sign_in_failure_record,
    sign_in_record,
    sso_sign_in,
    token_create,
    token_revoke,
    user_create,
    user_set_password,
    user_update,
)

PORTAL_URL = "/portal/"
# How this session signed in: "password" or "sso" (the provider's sign-in counts as its own
# second factor).
SIGNED_IN_WITH = "signed_in_with"
# A password accepted, the second factor still to come: {"user", "next", "since", "tries"}.
PENDING = "sign_in_pending"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_buttons"] = sign_in_buttons()
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if factors.has_second_factor(user):
            # The password was right; the session holds who is half signed in until the code.
            self.request.session.cycle_key()
            self.request.session[PENDING] = {
                "user": user.pk,
                "next": self.get_redirect_url(),
                "since": clock.now().timestamp(),
                "tries": 0,
            }
            return redirect("accounts:login_verify")
        response = super().form_valid(form)
        self.request.session[SIGNED_IN_WITH] = "password"
        record_sign_in(self.request, user, "password")
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        email = str(form.data.get("username", "")).strip().lower()
        if email:
            sign_in_failure_record(email=email, address=_client_address(self.request))
        return super().form_invalid(form)

    def get_success_url(self) -> str:
        return landing(self.request, self.get_redirect_url())


def landing(request: HttpRequest, target: str) -> str:
    """Where a person goes once signed in: `target` (?next=) when it is theirs to see."""
    user = request.user
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    if getattr(user, "is_team", False):
        return target or str(settings.LOGIN_REDIRECT_URL)
    # Stakeholders live in the portal; a team page in ?next= is no place for them.
    return target if target.startswith(PORTAL_URL) else PORTAL_URL


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """The page a locked-out login gets (429), instead of the login form."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "accounts/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def record_sign_in(request: HttpRequest, user: User, method: str) -> None:
    """After login(): the audit entry, and the session on the person's account page."""
    sign_in_record(
        user=user,
        method=method,
        address=_client_address(request),
        session_key=request.session.session_key,
        user_agent=request.headers.get("User-Agent", ""),
    )


def _provider_or_404(slug: str) -> ProviderConfig | None:
    """The provider of a sign-in address; 404 when none is there (or it is switched off)."""
    try:
        provider = enabled_provider(slug)
    except ValueError:
        # its secret was stored under another key (a restore without the passphrase)
        return None
    if provider is None:
        raise Http404
    return provider


def _sso_unreadable(request: HttpRequest) -> HttpResponse:
    return _sso_refused(
        request,
        "This identity provider's settings cannot be read on this server (its client secret"
        " was stored under another key). An administrator must enter the secret again.",
        status=503,
    )


@require_GET
def sso_start(request: HttpRequest, slug: str = ENVIRONMENT) -> HttpResponse:
    """ "Sign in with <provider>": off to the identity provider."""
    provider = _provider_or_404(slug)
    if provider is None:
        return _sso_unreadable(request)
    from . import sso  # lazy: Authlib and requests (8 MiB) load only where single sign-on is used

    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    request.session["sso_next"] = target
    try:
        return sso.start(request, provider)
    except sso.FAILURES:
        return _sso_refused(
            request, "The identity provider could not be reached. Try again later.", provider
        )


def _sso_refused(
    request: HttpRequest, detail: str, provider: ProviderConfig | None = None, status: int = 400
) -> HttpResponse:
    return render(
        request,
        "accounts/sso_refused.html",
        {"detail": detail, "provider": provider.name if provider else ""},
        status=status,
    )


@require_GET
def sso_callback(request: HttpRequest, slug: str = ENVIRONMENT) -> HttpResponse:
    """Back from the provider: the verified claims decide who signs in, and as what."""
    provider = _provider_or_404(slug)
    if provider is None:
        return _sso_unreadable(request)
    from . import sso  # lazy: Authlib and requests (8 MiB) load only where single sign-on is used

    try:
        claims = sso.finish(request, provider)
    except sso.FAILURES as exc:
        sign_in_failure_record(
            email="",
            address=_client_address(request),
            step=f"single sign-on with {provider.name} ({type(exc).__name__})",
        )
        return _sso_refused(
            request,
            "The sign-in with the identity provider could not be completed or was not genuine."
            " Nothing was changed. Start again from the sign-in page.",
            provider,
        )
    try:
        user = sso_sign_in(provider=provider, claims=claims)
    except SignInRefused as refused:
        return _sso_refused(request, refused.detail, provider, status=403)
    target = request.session.pop("sso_next", "")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SIGNED_IN_WITH] = "sso"
    record_sign_in(request, user, f"sso ({provider.name})"[:60] if provider.slug else "sso")
    return redirect(landing(request, target))


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/password/done/"

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user = form.user
        had_tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
        user_set_password(by=user, user=user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, user)
        if had_tokens:
            messages.warning(
                self.request,
                "Your API tokens were revoked with the old password: create new ones if needed.",
            )
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


# -- people (admin) ------------------------------------------------------------------------


ADMIN_ONLY = "Only an administrator manages people."
_admin_only = team_page_for("user.manage", ADMIN_ONLY)


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


# -- API tokens (each person their own; an admin anyone's) --------------------------------


def _tokens_page(
    request: HttpRequest,
    owner: User,
    form: TokenCreateForm | None = None,
    created: tuple[str, ApiToken] | None = None,
    status: int = 200,
) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    now = clock.now()
    tokens = [(t, t.state_at(now)) for t in tokens_of(by=by, user=owner)]
    return render(
        request,
        "accounts/tokens.html",
        {
            "nav": "tokens" if owner.pk == by.pk else "people",
            "owner": owner,
            "own": owner.pk == by.pk,
            "tokens": tokens,
            "form": form or TokenCreateForm(),
            "created": created,
        },
        status=status,
    )


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "forbidden.html", {"detail": exc.detail}, status=403)


@signed_in_page
@require_GET
def tokens(request: HttpRequest) -> HttpResponse:
    try:
        return _tokens_page(request, request.user)  # type: ignore[arg-type]
    except PermissionDenied as exc:
        return _forbidden(request, exc)


@_admin_only
@require_GET
def person_tokens(request: HttpRequest, user_id: int) -> HttpResponse:
    return _tokens_page(request, get_object_or_404(User, pk=user_id))


@signed_in_page
@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = token_create(
                by=by,
                user=by,
                name=data["name"],
                scope=data["scope"],
                expires_in_days=data["expires_in_days"],
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            # The token is in this one response only: no redirect, no message that outlives it.
            response = _tokens_page(request, by, created=created, status=201)
            response["Cache-Control"] = "no-store"
            return response
    return _tokens_page(request, by, form=form, status=422)


@signed_in_page
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    try:
        token = token_get_for(by=by, token_id=token_id)
        token_revoke(by=by, token=token)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Token {token.prefix}… revoked: it no longer works.")
    if token.user_id == by.pk:
        return redirect("accounts:tokens")
    return redirect("accounts:person_tokens", user_id=token.user_id)
