"""A person's own sign-in security: the second step of a sign-in, the account page, the
authenticator app and its recovery codes."""

from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, InvalidInput, NotFound

from . import factors
from .models import (
    ApiToken,
    AuthenticatorApp,
    ExternalIdentity,
    Passkey,
    RecoveryCode,
    SignInSession,
    User,
)
from .pages import signed_in_page
from .services import (
    authenticator_enable,
    authenticator_remove,
    passkey_add,
    passkey_remove,
    passkey_used,
    recovery_codes_renew,
    second_factor_check,
    sessions_end,
    sign_in_failure_record,
)
from .views import PENDING, SIGNED_IN_WITH, _client_address, landing, record_sign_in

# the second step must follow the first within this many seconds, in at most this many tries
PENDING_SECONDS = 300
PENDING_TRIES = 5
SETUP_SECRET = "authenticator_setup_secret"


def strong_session(request: HttpRequest) -> bool:
    """Signed in with two factors, or through the identity provider (its own sign-in counts)."""
    method = str(request.session.get(SIGNED_IN_WITH, ""))
    return method in ("sso", "passkey") or method.startswith("password+")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a password sign-in: a code from the app, or a recovery code."""
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    fresh = pending and clock.now().timestamp() - float(pending["since"]) < PENDING_SECONDS
    user = User.objects.filter(pk=pending["user"], is_active=True).first() if fresh else None
    if user is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in again: the second step waits five minutes at most.")
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = _client_address(request)
        method = second_factor_check(user=user, code=form.cleaned_data["code"], address=address)
        if method is not None:
            del request.session[PENDING]
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SIGNED_IN_WITH] = f"password+{method}"
            record_sign_in(request, user, f"password and {method}")
            if method == "recovery code":
                left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} are left. Renew them on your"
                    " account page.",
                )
            return redirect(landing(request, str(pending.get("next") or "")))
        pending["tries"] = int(pending["tries"]) + 1
        if pending["tries"] >= PENDING_TRIES:
            del request.session[PENDING]
            messages.error(request, "Too many wrong codes: sign in again.")
            return redirect("accounts:login")
        request.session[PENDING] = pending
        form.add_error("code", "That code is not right, or was used already.")
    return render(request, "accounts/login_verify.html", {"form": form}, status=200)


@signed_in_page
def account(request: HttpRequest) -> HttpResponse:
    """The person's sign-in methods, second factor and API tokens."""
    user = request.user
    assert isinstance(user, User)
    app = AuthenticatorApp.objects.filter(user=user).first()
    return render(
        request,
        "accounts/account.html",
        {
            "app": app,
            "passkeys": list(Passkey.objects.filter(user=user)),
            "sessions": list(
                SignInSession.objects.filter(
                    user=user,
                    session_key__in=Session.objects.filter(expire_date__gt=clock.now()).values(
                        "session_key"
                    ),
                )
            ),
            "this_session": request.session.session_key,
            "recovery_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "identities": [
                (_identity_label(identity), identity)
                for identity in user.identities.select_related("provider").order_by("created_at")
            ],
            "has_password": user.has_usable_password(),
            "tokens_active": ApiToken.objects.filter(user=user, revoked_at__isnull=True).count(),
            "required": factors.second_factor_required(user) and not strong_session(request),
        },
    )


def _identity_label(identity: ExternalIdentity) -> str:
    if identity.provider is not None:
        return identity.provider.name
    if settings.OIDC_ENABLED and identity.issuer == settings.OIDC_ISSUER:
        return str(settings.OIDC_NAME)
    return f"{identity.issuer} (a provider no longer set up here)"


class SetupForm(forms.Form):
    code = forms.CharField(
        label="The code your app shows",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@signed_in_page
@require_http_methods(["GET", "POST"])
def authenticator_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if AuthenticatorApp.objects.filter(user=user).exists():
        return redirect("accounts:account")
    secret = request.session.get(SETUP_SECRET) or factors.new_secret()
    request.session[SETUP_SECRET] = secret
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = authenticator_enable(user=user, secret=secret, code=form.cleaned_data["code"])
        except InvalidInput as exc:
            for error in exc.errors:
                form.add_error("code", error.message)
        except Conflict:
            return redirect("accounts:account")
        else:
            del request.session[SETUP_SECRET]
            request.session[SIGNED_IN_WITH] = "password+authenticator app"
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "new": True})
    uri = factors.provisioning_uri(secret, user.email)
    return render(
        request,
        "accounts/authenticator_setup.html",
        {"form": form, "qr": factors.qr_svg(uri), "secret": secret},
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


@signed_in_page
@require_POST
def authenticator_delete(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            authenticator_remove(user=user, password=form.cleaned_data["password"])
        except InvalidInput:
            messages.error(request, "That is not your password: the app was not removed.")
        else:
            messages.success(request, "The authenticator app and its recovery codes are removed.")
    return redirect("accounts:account")


@signed_in_page
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        codes = recovery_codes_renew(user=user)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return redirect("accounts:account")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "new": False})


# -- passkeys ---------------------------------------------------------------------------------


def bytes_to_base64url(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


def base64url_to_bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


CREATE_CHALLENGE = "passkey_create_challenge"
SIGN_IN_CHALLENGE = "passkey_sign_in_challenge"


def _json_refusal(detail: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": []}, status=status)


@signed_in_page
@require_POST
def passkey_create_options(request: HttpRequest) -> HttpResponse:
    from . import passkeys  # lazy: py_webauthn (5 MiB) loads only when passkeys are used

    user = request.user
    assert isinstance(user, User)
    options, challenge = passkeys.registration_options(user)
    request.session[CREATE_CHALLENGE] = bytes_to_base64url(challenge)
    return HttpResponse(options, content_type="application/json")


@signed_in_page
@require_POST
def passkey_create(request: HttpRequest) -> HttpResponse:
    from . import passkeys  # lazy: py_webauthn (5 MiB) loads only when passkeys are used

    user = request.user
    assert isinstance(user, User)
    challenge = request.session.pop(CREATE_CHALLENGE, None)
    if challenge is None:
        return _json_refusal("Start again: no passkey was being created.")
    try:
        data = passkeys.parse(request.body)
        credential_id, public_key, count = passkeys.verify_registration(
            data["credential"], base64url_to_bytes(challenge)
        )
        passkey_add(
            user=user,
            name=str(data.get("name") or ""),
            credential_id=credential_id,
            public_key=public_key,
            sign_count=count,
        )
    except InvalidInput as exc:
        return _json_refusal(exc.detail, 422)
    except passkeys.FAILURES:
        return _json_refusal("The passkey could not be checked: nothing was saved.")
    if not strong_session(request):
        request.session[SIGNED_IN_WITH] = "password+passkey"
    messages.success(request, "Your passkey is saved: you can sign in with it.")
    return JsonResponse({"next": "/account/"})


@signed_in_page
@require_POST
def passkey_delete(request: HttpRequest, passkey_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        passkey_remove(user=user, passkey_id=passkey_id)
    except NotFound as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "The passkey is removed.")
    return redirect("accounts:account")


@require_POST
def passkey_sign_in_options(request: HttpRequest) -> HttpResponse:
    from . import passkeys  # lazy: py_webauthn (5 MiB) loads only when passkeys are used

    options, challenge = passkeys.authentication_options()
    request.session[SIGN_IN_CHALLENGE] = bytes_to_base64url(challenge)
    return HttpResponse(options, content_type="application/json")


@require_POST
def passkey_sign_in(request: HttpRequest) -> HttpResponse:
    """A passkey with user verification signs a person in whole: it is two factors."""
    from . import passkeys  # lazy: py_webauthn (5 MiB) loads only when passkeys are used

    challenge = request.session.pop(SIGN_IN_CHALLENGE, None)
    address = _client_address(request)
    if challenge is None:
        return _json_refusal("Start again: no passkey sign-in was under way.")
    try:
        data = passkeys.parse(request.body)
        passkey, count = passkeys.verify_authentication(
            data["credential"], base64url_to_bytes(challenge)
        )
    except passkeys.FAILURES:
        sign_in_failure_record(email="", address=address, step="passkey")
        return _json_refusal("That passkey is not known here, or could not be checked.")
    user = passkey.user
    if not user.is_active:
        sign_in_failure_record(email=user.email, address=address, step="passkey")
        return _json_refusal("That account is not active.", 403)
    passkey_used(passkey=passkey, sign_count=count)
    pending = request.session.pop(PENDING, None) or {}
    target = str(data.get("next") or pending.get("next") or "")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SIGNED_IN_WITH] = "passkey"
    record_sign_in(request, user, "passkey")
    return JsonResponse({"next": landing(request, target)})


@signed_in_page
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        sessions_end(user=user, session_id=session_id, keep_key=None)
    except NotFound as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "That session is ended: its browser is signed out.")
    return redirect("accounts:account")


@signed_in_page
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    count = sessions_end(user=user, session_id=None, keep_key=request.session.session_key)
    messages.success(request, f"{count} other sessions ended; this one stays signed in.")
    return redirect("accounts:account")
