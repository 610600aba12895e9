from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from incidentdesk.core.text import TextField

from .models import Role


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
