"""The public page and its outputs (cached per page version), subscriptions, and the team's
management pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from incidentdesk.accounts.models import User
from incidentdesk.accounts.pages import team_page
from incidentdesk.accounts.permissions import can
from incidentdesk.core.errors import DomainError, NotFound
from incidentdesk.incidents.selectors import incident_get_for, policy_for

from . import public, selectors, services, subscriptions
from .api_v2 import component_json, incident_json, subscriber_json, subscription_json
from .cache import cached
from .forms import parse_window
from .models import Component, ComponentStatus, IncidentComponent, Maintenance, Publication


def _json_404(detail: str) -> tuple[bytes, str, int]:
    body = json.dumps({"detail": detail, "errors": []}).encode()
    return body, public.JSON, 404


# -- the public page -------------------------------------------------------------------------


@require_safe
@cached()
def page(request: HttpRequest) -> tuple[bytes, str]:
    return public.page_html(), public.HTML


@require_safe
@cached()
def history(request: HttpRequest, page: int = 1) -> tuple[bytes, str] | tuple[bytes, str, int]:
    if not 1 <= page <= 1000:
        return _not_found_html()
    return public.history_html(page), public.HTML


@require_safe
@cached()
def incident(request: HttpRequest, public_id: str) -> tuple[bytes, str] | tuple[bytes, str, int]:
    found = selectors.incident_by_public_id(public_id)
    if found is None:
        return _not_found_html()
    return public.incident_html(found), public.HTML


@require_safe
@cached()
def maintenance(request: HttpRequest, pk: int) -> tuple[bytes, str] | tuple[bytes, str, int]:
    found = Maintenance.objects.prefetch_related("components", "updates").filter(pk=pk).first()
    if found is None:
        return _not_found_html()
    return public.maintenance_html(found), public.HTML


def _not_found_html() -> tuple[bytes, str, int]:
    from django.template.loader import render_to_string

    body = render_to_string("statuspage/not_found.html", {"page_name": selectors.page_name()})
    return body.encode(), public.HTML, 404


@require_safe
@cached()
def atom(request: HttpRequest) -> tuple[bytes, str]:
    return public.feed_bytes("atom")


@require_safe
@cached()
def rss(request: HttpRequest) -> tuple[bytes, str]:
    return public.feed_bytes("rss")


@require_safe
@cached(cors=True)
def ics(request: HttpRequest) -> tuple[bytes, str]:
    return public.maintenance_ics(), "text/calendar; charset=utf-8"


@require_safe
@cached(cors=True)
def badge(request: HttpRequest) -> tuple[bytes, str]:
    return public.badge_svg(), "image/svg+xml"


@require_safe
@cached(cors=True)
def component_badge(request: HttpRequest, pk: int) -> tuple[bytes, str] | tuple[bytes, str, int]:
    component = Component.objects.filter(pk=pk).first()
    if component is None:
        return _json_404(f"No component {pk}.")
    return public.badge_svg(component), "image/svg+xml"


# -- the Statuspage v2 API -------------------------------------------------------------------


def _v2_safe(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """GET and HEAD only, any other method a JSON 405; no CSRF check (nothing is written)."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return _v2_not_allowed(request, ["GET", "HEAD"])
        return view(request, *args, **kwargs)

    return wrapper


def v2_view(name: str) -> Callable[..., HttpResponseBase]:
    @_v2_safe
    @cached(cors=True)
    def view(request: HttpRequest) -> tuple[bytes, str]:
        return public.json_bytes(name), public.JSON

    view.__name__ = "v2_" + name.replace("/", "_").replace("-", "_").replace(".json", "")
    return view


@_v2_safe
@cached(cors=True)
def v2_component(request: HttpRequest, pk: str) -> tuple[bytes, str] | tuple[bytes, str, int]:
    component = Component.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if component is None:
        return _json_404(f"No component {pk}.")
    return json.dumps({"component": component_json(component)}).encode(), public.JSON


@_v2_safe
@cached(cors=True)
def v2_incident(request: HttpRequest, public_id: str) -> tuple[bytes, str] | tuple[bytes, str, int]:
    found = selectors.incident_by_public_id(public_id)
    if found is None:
        return _json_404(f"No incident {public_id}.")
    return json.dumps({"incident": incident_json(found)}).encode(), public.JSON


# Statuspage's public subscriber endpoints: no credentials and no CSRF token (clients written
# for Statuspage send neither); confirmation by the address and the per-client limit guard them.


def _v2_json(body: dict[str, object], status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(body), content_type=public.JSON, status=status)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _v2_error(exc: DomainError) -> HttpResponse:
    body = exc.as_dict()
    for error in body["errors"]:  # type: ignore[attr-defined]
        error["field"] = V2_FIELDS.get(error["field"], error["field"])
    return _v2_json(body, exc.status_code)


def _v2_not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    response = _v2_json(
        {
            "detail": f"{request.method} is not allowed here; use {', '.join(allowed)}.",
            "errors": [],
        },
        405,
    )
    response["Allow"] = ", ".join(allowed)
    return response


V2_FIELDS = {
    "email": "subscriber[email]",
    "url": "subscriber[endpoint]",
    "components": "subscriber[component_ids]",
}


def _v2_subscriber_input(request: HttpRequest) -> dict[str, object]:
    """`subscriber[...]` fields, form-encoded as Statuspage documents them or as JSON."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise DomainError("The body is not valid JSON.", [], 400) from None
        inner = data.get("subscriber", data) if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            raise DomainError('Send a JSON object {"subscriber": {...}}.', [], 400)
        ids = inner.get("component_ids") or []
        return {
            "email": str(inner.get("email") or ""),
            "endpoint": str(inner.get("endpoint") or ""),
            "component_ids": [str(i) for i in ids] if isinstance(ids, list) else [str(ids)],
        }
    form = request.POST
    return {
        "email": form.get("subscriber[email]", ""),
        "endpoint": form.get("subscriber[endpoint]", ""),
        "component_ids": form.getlist("subscriber[component_ids][]")
        or form.getlist("subscriber[component_ids]"),
    }


@csrf_exempt
def v2_subscribers(request: HttpRequest) -> HttpResponse:
    """POST /api/v2/subscribers.json: ask to subscribe an e-mail address or, with `endpoint`,
    a webhook URL (Statuspage's `email` beside it is not used). The answer is the same whether
    or not the address is subscribed; nothing applies until the link sent there is followed."""
    if request.method != "POST":
        return _v2_not_allowed(request, ["POST"])
    try:
        data = _v2_subscriber_input(request)
        client = request.META.get("REMOTE_ADDR", "")
        components = cast(list[int | str], data["component_ids"])
        if data["endpoint"]:
            requested = subscriptions.subscribe_webhook(
                url=str(data["endpoint"]), components=components, client=client
            )
        else:
            requested = subscriptions.subscribe_email(
                email=str(data["email"]), components=components, client=client
            )
    except DomainError as exc:
        return _v2_error(exc)
    # the request's own time and components: the subscription's would tell it existed
    req = requested.request
    body = subscriber_json(
        kind=req.subscriber.kind,
        address=req.subscriber.address,
        created_at=req.created_at,
        handle=requested.handle,
        components=req.components,
    )
    return _v2_json({"subscriber": body}, 201)


@csrf_exempt
def v2_subscriber(request: HttpRequest, handle: str) -> HttpResponse:
    """GET or DELETE /api/v2/subscribers/{id}.json: the confirmed subscription the id names
    (the id the asker was given); DELETE ends it. Any other id is a 404."""
    if request.method not in ("GET", "HEAD", "DELETE"):
        return _v2_not_allowed(request, ["GET", "DELETE"])
    try:
        if request.method == "DELETE":
            subscriber = subscriptions.unsubscribe_webhook(handle)
        else:
            subscriber = subscriptions.subscriber_by_handle(handle)
    except DomainError as exc:
        return _v2_error(exc)
    response = _v2_json({"subscriber": subscription_json(subscriber, handle)})
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def v2_not_found(request: HttpRequest, rest: str) -> HttpResponse:
    body, content_type, status = _json_404(f"No such document: /api/v2/{rest}.")
    response = HttpResponse(body, content_type=content_type, status=status)
    response["Access-Control-Allow-Origin"] = "*"
    return response


# -- subscriptions (not cached: each carries a CSRF token) ------------------------------------


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    errors: list[DomainError] = []
    done = ""
    token = ""
    if request.method == "POST":
        kind = request.POST.get("kind", "email")
        chosen: list[int | str] = list(request.POST.getlist("components"))
        client = request.META.get("REMOTE_ADDR", "")
        try:
            if kind == "webhook":
                token = subscriptions.subscribe_webhook(
                    url=request.POST.get("url", ""), components=chosen, client=client
                ).handle
                done = "webhook"
            else:
                subscriptions.subscribe_email(
                    email=request.POST.get("email", ""), components=chosen, client=client
                )
                done = "email"
        except DomainError as exc:
            errors.append(exc)
    context = {
        "page_name": selectors.page_name(),
        "components": selectors.components(),
        "errors": [e for exc in errors for e in exc.errors] or [],
        "error": errors[0].detail if errors else "",
        "done": done,
        "token": token,
        "form": request.POST,
    }
    status = (429 if errors[0].status_code == 429 else 422) if errors else 200
    return render(request, "statuspage/subscribe.html", context, status=status)


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriptions.confirm(token)
    except NotFound as exc:
        return _message(request, "Subscription", exc.detail, status=404)
    return _message(
        request,
        "Subscription confirmed",
        f"{subscriber.address} will now receive the status page's notices.",
    )


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        return render(
            request,
            "statuspage/unsubscribe.html",
            {"page_name": selectors.page_name(), "token": token},
        )
    try:
        subscriber = subscriptions.unsubscribe(token)
    except NotFound as exc:
        return _message(request, "Unsubscribe", exc.detail, status=404)
    return _message(request, "Unsubscribed", f"{subscriber.address} will receive no more notices.")


def _message(request: HttpRequest, title: str, text: str, status: int = 200) -> HttpResponse:
    return render(
        request,
        "statuspage/message.html",
        {"page_name": selectors.page_name(), "title": title, "text": text},
        status=status,
    )


# -- management (the team) --------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    """The signed-in user (the pages below are behind team_page)."""
    return cast(User, request.user)


@team_page
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponseBase:
    error: DomainError | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _manage_action(request, action)
            messages.success(request, "Saved.")
            return redirect("statuspage:manage")
        except DomainError as exc:
            error = exc
    context = {
        "nav": "statusadmin",
        "components": selectors.components(),
        "groups": selectors.groups(),
        "statuses": ComponentStatus.choices,
        "publications": Publication.objects.select_related("incident").order_by("-published_at")[
            :30
        ],
        "maintenances": selectors.maintenances(),
        "can_manage": can(request.user, "statuspage.manage"),
        "error": error,
    }
    return render(request, "statuspage/manage.html", context, status=_status_of(error))


def _status_of(error: DomainError | None) -> int:
    return error.status_code if error else 200


def _manage_action(request: HttpRequest, action: str) -> None:
    post = request.POST
    user = _user(request)
    if action == "component_create":
        services.component_create(
            by=user,
            name=post.get("name", ""),
            description=post.get("description", ""),
            group=post.get("group") or None,
        )
    elif action == "component_status":
        status = post.get("status", "")
        if status == "auto":
            services.component_update(by=user, component=post.get("component", ""), manual=False)
        else:
            services.component_update(by=user, component=post.get("component", ""), status=status)
    elif action == "group_create":
        services.group_create(
            by=user, name=post.get("name", ""), description=post.get("description", "")
        )
    elif action == "maintenance_schedule":
        _schedule_maintenance(user, post)
    elif action == "maintenance_post":
        services.maintenance_post(
            by=user,
            maintenance=post.get("maintenance", ""),
            status=post.get("status", ""),
            body=post.get("body", ""),
        )
    else:
        raise NotFound(f"Unknown action {action!r}.")


@team_page
@require_http_methods(["GET", "POST"])
def manage_incident(request: HttpRequest, ref: str) -> HttpResponseBase:
    try:
        found = incident_get_for(_user(request), ref)
    except NotFound:
        raise Http404(f"No incident {ref}.") from None
    error: DomainError | None = None
    if request.method == "POST":
        try:
            _incident_action(request, found.ref)
            messages.success(request, DONE.get(request.POST.get("action", ""), "Saved."))
            return redirect("statuspage:manage_incident", ref=found.ref)
        except DomainError as exc:
            error = exc
    publication = Publication.objects.filter(incident=found).first()
    context = {
        "nav": "statusadmin",
        "incident": found,
        "publication": publication,
        "confidential": services.is_confidential(found),
        "links": IncidentComponent.objects.filter(incident=found).select_related("component"),
        "components": selectors.components(),
        "statuses": [c for c in ComponentStatus.choices if c[0] != "operational"],
        "public_statuses": services.PUBLIC_STATUSES,
        "can_publish": can(request.user, "statuspage.publish"),
        "can_summary": can(request.user, "statuspage.publish_summary"),
        "schedules_maintenance": policy_for(found).schedules_maintenance(found.type),
        "maintenances": found.maintenances.prefetch_related("components").order_by("scheduled_for"),
        "error": error,
    }
    return render(request, "statuspage/manage_incident.html", context, status=_status_of(error))


def _schedule_maintenance(user: User, post: QueryDict, incident: str | None = None) -> None:
    start, end = parse_window(post.get("scheduled_for", ""), post.get("scheduled_until", ""))
    services.maintenance_schedule(
        by=user,
        name=post.get("name", ""),
        body=post.get("body", ""),
        scheduled_for=start,
        scheduled_until=end,
        components=list(post.getlist("components")),
        incident=incident,
    )


DONE = {
    "publish": "Published on the status page.",
    "publish_summary": "Public summary published.",
    "unpublish": "Withdrawn from the status page.",
    "link": "Component linked.",
    "unlink": "Component removed.",
    "maintenance_schedule": "Maintenance window scheduled; it is on the status page.",
}


def _incident_action(request: HttpRequest, ref: str) -> None:
    post = request.POST
    user = _user(request)
    action = post.get("action", "")
    if action == "publish":
        services.incident_publish(
            by=user, incident=ref, title=post.get("title") or None, body=post.get("body", "")
        )
    elif action == "publish_summary":
        services.incident_publish_summary(
            by=user,
            incident=ref,
            title=post.get("title", ""),
            body=post.get("body", ""),
            status=post.get("status", "investigating"),
        )
    elif action == "unpublish":
        services.incident_unpublish(by=user, incident=ref)
    elif action == "link":
        services.incident_link_component(
            by=user,
            incident=ref,
            component=post.get("component", ""),
            status=post.get("status", "major_outage"),
        )
    elif action == "unlink":
        services.incident_unlink_component(
            by=user, incident=ref, component=post.get("component", "")
        )
    elif action == "maintenance_schedule":
        _schedule_maintenance(user, post, incident=ref)
    else:
        raise NotFound(f"Unknown action {action!r}.")
