"""The team's public update composer, at /incidents/INC-n/update: write once, preview per
channel, post in one step. Thin: the writing and the previews are services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from incidentdesk.accounts.models import User
from incidentdesk.accounts.pages import team_page
from incidentdesk.accounts.permissions import can
from incidentdesk.comms.updates import TEMPLATES_BY_KEY, UPDATE_TEMPLATES, fill, public_title
from incidentdesk.core.errors import Conflict, DomainError, NotFound
from incidentdesk.core.markdown import render_markdown
from incidentdesk.incidents.models import Incident, PublicStatus
from incidentdesk.incidents.selectors import incident_get_for

from . import selectors, services
from .models import IncidentComponent


def _form(incident: Incident, data: QueryDict | None, template: str) -> dict[str, Any]:
    """The composer's fields: as posted, else from a chosen wording, else as things stand."""
    links = {
        str(link.component_id): link.status
        for link in IncidentComponent.objects.filter(incident=incident)
    }
    if data is not None:
        return {
            "status": data.get("status", ""),
            "title": data.get("title", ""),
            "body": data.get("body", ""),
            "template": data.get("template", ""),
            "components": {
                key[len("component-") :]: value
                for key, value in data.items()
                if key.startswith("component-")
            },
        }
    chosen = TEMPLATES_BY_KEY.get(template)
    return {
        "status": chosen.status if chosen else "",
        "title": public_title(incident) if (incident.public_title or _on_page(incident)) else "",
        "body": fill(chosen.text, incident) if chosen else "",
        "template": chosen.key if chosen else "",
        "components": links,
    }


def _on_page(incident: Incident) -> bool:
    return services.published(incident) is not None


def _rows(form: dict[str, Any]) -> list[dict[str, Any]]:
    chosen = form["components"]
    return [
        {"component": c, "status": chosen.get(str(c.pk), services.COMPONENT_CHOICES[0][0])}
        for c in selectors.components()
    ]


@team_page
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest, ref: str) -> HttpResponse:
    user = cast(User, request.user)
    try:
        incident = incident_get_for(user, ref)
    except NotFound:
        raise Http404(f"No incident {ref}.") from None
    data = request.POST if request.method == "POST" else None
    form = _form(incident, data, request.GET.get("template", ""))
    previews, errors, status = None, {}, 200
    if data is not None:
        arguments = {
            "by": user,
            "incident": incident.ref,
            "status": form["status"],
            "body": fill(form["body"], incident),
            "title": form["title"] or None,
            "components": form["components"],
        }
        version = data.get("version", "")
        expected = int(version) if version.isdigit() else None
        try:
            if data.get("action") == "send":
                services.incident_communicate(**arguments, expected_version=expected)
                messages.success(request, _sent(incident))
                return redirect("statuspage-team:compose", ref=incident.ref)
            if data.get("action") == "components":
                # the components now, no update: what is typed in the update stays as it is
                changed = services.incident_components_set(
                    by=user,
                    incident=incident.ref,
                    components=form["components"],
                    expected_version=expected,
                )
                messages.success(request, _components_saved(changed))
                incident = incident_get_for(user, incident.ref)
            else:
                previews = services.incident_communicate_preview(**arguments)
                form["body"] = arguments["body"]
        except DomainError as exc:
            errors = {e.field: e.message for e in exc.errors} or {"form": exc.detail}
            status = 409 if isinstance(exc, Conflict) else 200
    return render(
        request,
        "statuspage/compose.html",
        {
            "nav": "queue",
            "incident": incident,
            "form": form,
            "rows": _rows(form),
            "component_choices": services.COMPONENT_CHOICES,
            "statuses": PublicStatus.choices,
            "templates": UPDATE_TEMPLATES,
            "previews": previews,
            "stakeholder_html": _html(previews.stakeholder) if previews else None,
            "subscriber_html": _html(previews.subscriber) if previews else None,
            "published": services.published(incident),
            "can_link": can(user, "statuspage.link_components"),
            "errors": errors,
        },
        status=status,
    )


def _html(preview: Any) -> str | None:
    return render_markdown(preview.body) if preview is not None else None


def _components_saved(changed: list[dict[str, str]]) -> str:
    if not changed:
        return "The components were already so: nothing changed."
    names = dict(services.COMPONENT_CHOICES)
    said = ", ".join(f"{c['component']}: {names[c['status']].lower()}" for c in changed)
    return f"Components saved ({said}). No update was sent."


def _sent(incident: Incident) -> str:
    on_page = " posted on the status page," if _on_page(incident) else ""
    return f"Update{on_page} sent to the stakeholders and subscribers of {incident.ref}."
