"""The guideline library: checklists per type (and optionally severity), kept in the policy.
Every save is a new policy version, activated through `services.policy_activate_text`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from incidentdesk.accounts.pages import team_page, team_page_for
from incidentdesk.accounts.permissions import can
from incidentdesk.core.errors import Conflict, InvalidInput

from . import services
from .forms import GuidelineForm
from .loader import PolicyInvalid
from .schema import Policy
from .selectors import active_policy

ANY = "any"


EDIT_REFUSAL = "Only a manager edits the guideline library."


def _key(severity: str | None) -> str:
    return severity or ANY


@team_page
@require_GET
def guideline_list(request: HttpRequest) -> HttpResponse:
    version, policy = active_policy()
    return render(
        request,
        "policy/guidelines.html",
        {
            "nav": "guidelines",
            "policy": policy,
            "version": version,
            "guidelines": [
                {
                    "g": g,
                    "type_label": policy.types[g.type].label,
                    "severity_key": _key(g.severity),
                }
                for g in policy.guidelines
            ],
            "can_edit": can(request.user, "policy.edit"),
        },
    )


@team_page
@require_GET
def guideline_coverage(request: HttpRequest) -> HttpResponse:
    """The manager's check that all guidelines are in place: which type and severity has a
    checklist of its own, which falls back to the type's general one, which has none."""
    _, policy = active_policy()
    specific = {(g.type, g.severity) for g in policy.guidelines}
    rows = []
    missing = []
    for type_key, t in policy.types.items():
        cells = []
        for severity in policy.severities:
            if (type_key, severity) in specific:
                state = "specific"
            elif (type_key, None) in specific:
                state = "general"
            else:
                state = "none"
            cells.append({"severity": severity, "state": state})
            if state != "specific":
                missing.append(
                    {"type": type_key, "label": t.label, "severity": severity, "state": state}
                )
        rows.append(
            {
                "type": type_key,
                "label": t.label,
                "cells": cells,
                "general": (type_key, None) in specific,
            }
        )
    return render(
        request,
        "policy/coverage.html",
        {
            "nav": "guidelines",
            "policy": policy,
            "rows": rows,
            "missing": missing,
            "can_edit": can(request.user, "policy.edit"),
        },
    )


def _editor(request: HttpRequest, original: tuple[str, str | None] | None) -> HttpResponse:
    version, policy = active_policy()
    current = None
    if original is not None:
        current = next((g for g in policy.guidelines if (g.type, g.severity) == original), None)
        if current is None:
            raise Http404("No such guideline.")
    if request.method == "POST":
        form = GuidelineForm(request.POST, policy=policy)
        if form.is_valid():
            type_key = form.cleaned_data["type"]
            severity = form.cleaned_data["severity"] or None
            try:
                new_version = services.guideline_save(
                    by=request.user,
                    type_key=type_key,
                    severity=severity,
                    steps=form.cleaned_data["steps"],
                    original=original,
                    expected_version=form.cleaned_data["policy_version"],
                )
            except Conflict as exc:
                messages.error(request, f"{exc} Your checklist is kept below.")
                form = GuidelineForm(
                    {**request.POST.dict(), "policy_version": version.pk}, policy=policy
                )
                return _render_editor(request, form, policy, current, status=409)
            except InvalidInput as exc:
                for error in exc.errors:
                    form.add_error(
                        error.field if error.field in form.fields else None, error.message
                    )
                return _render_editor(request, form, policy, current)
            except PolicyInvalid as exc:
                for problem in exc.problems:
                    form.add_error(None, str(problem))
                return _render_editor(request, form, policy, current)
            label = policy.types[type_key].label + (f" {severity}" if severity else "")
            messages.success(
                request, f"Guideline for {label} saved as policy version {new_version.pk}."
            )
            return redirect("policy:guidelines")
    else:
        initial: dict[str, Any] = {"policy_version": version.pk}
        if current is not None:
            initial.update(
                type=current.type, severity=current.severity or "", steps="\n".join(current.steps)
            )
        else:
            initial.update(
                type=request.GET.get("type", ""), severity=request.GET.get("severity", "")
            )
        form = GuidelineForm(initial=initial, policy=policy)
    return _render_editor(request, form, policy, current)


def _render_editor(
    request: HttpRequest, form: GuidelineForm, policy: Policy, current: Any, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "policy/guideline_form.html",
        {"nav": "guidelines", "form": form, "policy": policy, "current": current},
        status=status,
    )


@team_page_for("policy.edit", EDIT_REFUSAL)
@require_http_methods(["GET", "POST"])
def guideline_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@team_page_for("policy.edit", EDIT_REFUSAL)
@require_http_methods(["GET", "POST"])
def guideline_edit(request: HttpRequest, type_key: str, severity: str) -> HttpResponse:
    return _editor(request, (type_key, None if severity == ANY else severity))


@team_page_for("policy.edit", EDIT_REFUSAL)
@require_http_methods(["GET", "POST"])
def guideline_delete(request: HttpRequest, type_key: str, severity: str) -> HttpResponse:
    """Asks first (GET), deletes on the confirming POST."""
    version, policy = active_policy()
    target = (type_key, None if severity == ANY else severity)
    current = next((g for g in policy.guidelines if (g.type, g.severity) == target), None)
    if current is None:
        raise Http404("No such guideline.")
    label = (policy.types[type_key].label if type_key in policy.types else type_key) + (
        f" {target[1]}" if target[1] else ""
    )
    if request.method == "POST":
        try:
            expected = int(request.POST.get("policy_version", ""))
        except ValueError:
            expected = -1
        try:
            new_version = services.guideline_delete(
                by=request.user, type_key=type_key, severity=target[1], expected_version=expected
            )
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("policy:guideline_delete", type_key=type_key, severity=severity)
        except PolicyInvalid as exc:
            messages.error(request, "; ".join(str(p) for p in exc.problems))
            return redirect("policy:guideline_edit", type_key=type_key, severity=severity)
        messages.success(
            request, f"Guideline for {label} deleted; policy version {new_version.pk} is active."
        )
        return redirect("policy:guidelines")
    return render(
        request,
        "policy/guideline_delete.html",
        {"nav": "guidelines", "guideline": current, "label": label, "version": version},
    )
