from django.urls import path

from . import provider_views, security_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/sso/", views.sso_start, name="sso_start"),
    path("login/sso/callback", views.sso_callback, name="sso_callback"),
    path("login/sso/<slug:slug>/", views.sso_start, name="provider_sso_start"),
    path("login/sso/<slug:slug>/callback", views.sso_callback, name="provider_sso_callback"),
    path("login/verify", security_views.login_verify, name="login_verify"),
    path("account/", security_views.account, name="account"),
    path("account/authenticator", security_views.authenticator_setup, name="authenticator_setup"),
    path(
        "account/authenticator/remove",
        security_views.authenticator_delete,
        name="authenticator_delete",
    ),
    path("account/recovery-codes", security_views.recovery_codes, name="recovery_codes"),
    path("account/passkeys/options", security_views.passkey_create_options, name="passkey_options"),
    path("account/passkeys/new", security_views.passkey_create, name="passkey_create"),
    path(
        "account/passkeys/<int:passkey_id>/remove",
        security_views.passkey_delete,
        name="passkey_delete",
    ),
    path(
        "login/passkey/options",
        security_views.passkey_sign_in_options,
        name="passkey_sign_in_options",
    ),
    path("login/passkey", security_views.passkey_sign_in, name="passkey_sign_in"),
    path("account/sessions/<int:session_id>/end", security_views.session_end, name="session_end"),
    path("account/sessions/end", security_views.sessions_end_others, name="sessions_end"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("people/", views.people, name="people"),
    path("people/new", views.person_create, name="person_create"),
    path("people/<int:user_id>", views.person_update, name="person_update"),
    path("people/providers/", provider_views.providers, name="providers"),
    path("people/providers/new", provider_views.provider_new, name="provider_new"),
    path("people/providers/<int:provider_id>", provider_views.provider_edit, name="provider_edit"),
    path(
        "people/providers/<int:provider_id>/enabled",
        provider_views.provider_enabled,
        name="provider_enabled",
    ),
    path(
        "people/providers/<int:provider_id>/delete",
        provider_views.provider_remove,
        name="provider_delete",
    ),
    path("people/orgs/new", views.org_create, name="org_create"),
    path("people/orgs/<int:org_id>", views.org_update, name="org_update"),
    path("people/<int:user_id>/tokens/", views.person_tokens, name="person_tokens"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/new", views.token_new, name="token_new"),
    path("tokens/<int:token_id>/revoke", views.token_revoke_view, name="token_revoke"),
]
