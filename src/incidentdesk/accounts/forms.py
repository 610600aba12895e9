from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from incidentdesk.core.text import TextField

from .models import Role, User


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def confirm_login_allowed(self, user: User) -> None:  # type: ignore[override]
        super().confirm_login_allowed(user)
        role = getattr(user, "role", None)
        if not settings.TEAM_PASSWORD_LOGIN and role in (Role.MANAGER, Role.MEMBER):
            raise forms.ValidationError(
                f"The team signs in with {settings.OIDC_NAME}, not with a password.",
                code="team_password_off",
            )


class UserCreateForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    first_name = TextField(label="First name", required=False, max_length=150, multiline=False)
    last_name = TextField(label="Last name", required=False, max_length=150, multiline=False)
    role = forms.ChoiceField(label="Role")
    organisation = TextField(
        label="Stakeholder organisation (stakeholders only)",
        required=False,
        max_length=120,
        multiline=False,
    )
    password = forms.CharField(
        label="Initial password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = Role.choices  # type: ignore[attr-defined]


class OrgCreateForm(forms.Form):
    name = TextField(label="Organisation name", max_length=120, multiline=False)


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Name", required=False, max_length=100, help_text="What it is for, e.g. a script."
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=[("read", "Read only (GET)"), ("write", "Read and write")],
        initial="read",
    )
    expires_in_days = forms.IntegerField(
        label="Expires in (days)",
        required=False,
        min_value=1,
        max_value=3650,
        initial=90,
        help_text="Leave empty for a token that does not expire.",
    )


class ProviderForm(forms.Form):
    """An identity provider's settings. The secret is write-only: never rendered back."""

    name = forms.CharField(
        label="Button name",
        max_length=60,
        help_text="The sign-in button reads Sign in with this name, e.g. Contoso SSO.",
    )
    slug = forms.CharField(
        label="Short name (in the callback address)",
        max_length=40,
        required=False,
        help_text="Lower-case letters, digits and dashes; left empty, made from the name."
        " It cannot change later.",
    )
    issuer = forms.CharField(
        label="Issuer URL",
        max_length=255,
        widget=forms.URLInput(attrs={"placeholder": "https://sso.example.com/realms/company"}),
        help_text="Its discovery document (the issuer followed by"
        " /.well-known/openid-configuration) is read when you save.",
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        label="Client secret",
        max_length=1000,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )
    scopes = forms.CharField(label="Scopes", max_length=255, initial="openid email profile")
    roles_claim = forms.CharField(
        label="Roles claim",
        max_length=100,
        initial="groups",
        help_text="The claim that holds the person's groups; a dotted name reads a nested one"
        " (realm_access.roles).",
    )
    role_map = forms.CharField(
        label="Role map",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Group=role, one a line or separated by commas: roles are admin, manager,"
        " member and stakeholder:Organisation (e.g. contoso-staff=stakeholder:Contoso).",
    )
    enabled = forms.BooleanField(label="Show its button on the sign-in page", required=False)

    def __init__(self, *args: object, editing: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if editing:
            del self.fields["slug"]
            self.fields["client_secret"].help_text = "Left empty, the stored secret stays."
        else:
            self.fields[
                "client_secret"
            ].help_text = "Shown nowhere once saved; empty for a public client (PKCE only)."
