"""The administrators' pages for identity providers: the environment's (read-only) and the ones
added here, with their callback addresses to register at each provider."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidentdesk.core.errors import Conflict, InvalidInput

from .forms import ProviderForm
from .models import IdentityProvider, User
from .pages import team_page
from .provider_services import (
    ProviderInput,
    provider_create,
    provider_delete,
    provider_set_enabled,
    provider_update,
)
from .providers import environment_provider, provider_get_for, providers_for
from .views import _apply_errors


def _input(form: ProviderForm, slug: str = "") -> ProviderInput:
    data = form.cleaned_data
    return ProviderInput(
        name=data["name"],
        slug=data.get("slug", slug) or "",
        issuer=data["issuer"],
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        scopes=data["scopes"],
        roles_claim=data["roles_claim"],
        role_map=data["role_map"],
        enabled=data["enabled"],
    )


def _list_page(
    request: HttpRequest, form: ProviderForm | None = None, status: int = 200
) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/providers.html",
        {
            "nav": "people",
            "base_url": settings.BASE_URL,
            "environment": environment_provider(),
            "providers": providers_for(by=by),
            "form": form or ProviderForm(initial={"enabled": True}),
        },
        status=status,
    )


@team_page
@require_GET
def providers(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@team_page
@require_POST
def provider_new(request: HttpRequest) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    providers_for(by=by)  # the permission, before the form says anything
    form = ProviderForm(request.POST)
    if form.is_valid():
        try:
            provider = provider_create(by=by, data=_input(form))
        except (InvalidInput, Conflict) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"{provider.name} is added. Register its callback address at the provider.",
            )
            return redirect("accounts:providers")
    return _list_page(request, form, status=422)


@team_page
@require_http_methods(["GET", "POST"])
def provider_edit(request: HttpRequest, provider_id: int) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    provider = provider_get_for(by=by, provider_id=provider_id)
    status = 200
    if request.method == "POST":
        form = ProviderForm(request.POST, editing=True)
        if form.is_valid():
            try:
                provider_update(by=by, provider=provider, data=_input(form, provider.slug))
            except (InvalidInput, Conflict) as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, f"{form.cleaned_data['name']} is saved.")
                return redirect("accounts:providers")
        status = 422
    else:
        form = ProviderForm(initial=_initial(provider), editing=True)
    return render(
        request,
        "accounts/provider_edit.html",
        {"nav": "people", "provider": provider, "form": form, "base_url": settings.BASE_URL},
        status=status,
    )


def _initial(provider: IdentityProvider) -> dict[str, Any]:
    # the secret is not among them: it is never shown back
    return {
        "name": provider.name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "roles_claim": provider.roles_claim,
        "role_map": provider.role_map.replace(", ", "\n"),
        "enabled": provider.enabled,
    }


@team_page
@require_POST
def provider_enabled(request: HttpRequest, provider_id: int) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    provider = provider_get_for(by=by, provider_id=provider_id)
    enabled = request.POST.get("enabled") == "1"
    provider_set_enabled(by=by, provider=provider, enabled=enabled)
    messages.success(
        request,
        f"{provider.name} is {'on: its button is on the sign-in page' if enabled else 'off'}.",
    )
    return redirect("accounts:providers")


@team_page
@require_POST
def provider_remove(request: HttpRequest, provider_id: int) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    provider = provider_get_for(by=by, provider_id=provider_id)
    provider_delete(by=by, provider=provider)
    messages.success(request, f"{provider.name} is deleted.")
    return redirect("accounts:providers")
