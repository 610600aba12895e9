"""Forgotten passwords: a link by e-mail, the same answer whether the address is known."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from incidentdesk.accounts.services import sessions_end, user_set_password

from .password_reset import password_reset_request, password_reset_user


class ResetForm(forms.Form):
    email = forms.EmailField(
        label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = ResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(
            email=form.cleaned_data["email"], address=request.META.get("REMOTE_ADDR")
        )
        return render(
            request, "comms/password_reset_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "comms/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = password_reset_user(uidb64, token)
    if user is None:
        return render(request, "comms/password_reset_invalid.html", status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_set_password(by=user, user=user, password=form.cleaned_data["new_password1"])
        sessions_end(user=user, session_id=None, keep_key=None)
        messages.success(request, "Your new password is set: sign in with it.")
        return redirect("accounts:login")
    return render(request, "comms/password_reset_confirm.html", {"form": form, "who": user.email})
