from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.utils.http import url_has_allowed_host_and_scheme

from .forms import LoginForm

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
