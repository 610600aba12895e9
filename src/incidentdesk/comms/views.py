"""Pages: an incident's communications, the deliveries admin page, channels, preferences and
the unsubscribe link. Thin: reads through selectors, writes through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from incidentdesk.accounts.pages import signed_in_page, team_page, team_page_for
from incidentdesk.accounts.permissions import can
from incidentdesk.core.errors import DomainError, NotFound, PermissionDenied
from incidentdesk.incidents.kinds import trigger_label
from incidentdesk.incidents.selectors import incident_get_for
from incidentdesk.policy.schema import NOTIFICATION_TRIGGERS

from . import paging, selectors, services
from .models import Channel, ChannelKind, DeliveryState

PAGE_SIZE = 100


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or default
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if ok else default


# -- an incident's communications -------------------------------------------------------------


@team_page
@require_http_methods(["GET", "POST"])
def incident_communications(request: HttpRequest, ref: str) -> HttpResponse:
    """The incident's deliveries. Public updates are written in the composer: a wording
    chosen here, or a form posted to this page, goes on there (307 keeps the POST)."""
    incident = incident_get_for(request.user, ref)  # type: ignore[arg-type]
    composer = f"/incidents/{incident.ref}/update"
    if request.method == "POST":
        return HttpResponseRedirect(composer, status=307)
    if request.GET.get("template"):
        return redirect(f"{composer}?{urlencode({'template': request.GET['template']})}")
    deliveries = selectors.deliveries_of(incident)[:PAGE_SIZE]
    return render(
        request,
        "comms/incident.html",
        {
            "incident": incident,
            "deliveries": deliveries,
            "counts": selectors.delivery_counts(incident),
            "composer": composer,
            "can_post": can(request.user, "incident.post_update"),
            "can_retry": can(request.user, "comms.retry"),
        },
    )


@team_page
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        delivery = services.delivery_retry(by=request.user, delivery_id=pk)  # type: ignore[arg-type]
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect(_back(request, "/comms/deliveries/"))
    messages.success(request, f"Delivery to {delivery.recipient or 'the recipient'} queued again.")
    default = (
        f"/incidents/INC-{delivery.incident_id}/communications"
        if delivery.incident_id
        else "/comms/deliveries/"
    )
    return redirect(_back(request, default))


@team_page_for("comms.deliveries")
def deliveries_admin(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in DeliveryState.values:
        state = ""
    return render(
        request,
        "comms/deliveries.html",
        {
            "deliveries": selectors.deliveries_filtered(state=state or None)[:PAGE_SIZE],
            "state": state,
            "states": DeliveryState.values,
            "totals": selectors.delivery_totals(),
            "nav": "deliveries",
        },
    )


# -- channels --------------------------------------------------------------------------------


@team_page_for("channel.manage")
@require_http_methods(["GET", "POST"])
def channels(request: HttpRequest) -> HttpResponse:
    form: dict[str, Any] = {"kind": "apprise", "audiences": ["team"]}
    errors: dict[str, str] = {}
    secret = None
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", ""),
            "kind": request.POST.get("kind", ""),
            "url": request.POST.get("url", ""),
            "audiences": request.POST.getlist("audiences"),
            "template": request.POST.get("template", ""),
        }
        try:
            channel, secret = services.channel_create(by=request.user, **form)  # type: ignore[arg-type]
        except PermissionDenied:
            raise
        except DomainError as exc:
            errors = {e.field: e.message for e in exc.errors} or {"form": exc.detail}
        else:
            messages.success(request, f"Channel {channel.name} saved.")
            form = {"kind": "apprise", "audiences": ["team"]}
    return render(
        request,
        "comms/channels.html",
        {
            "channels": Channel.objects.all(),
            "form": form,
            "errors": errors,
            "secret": secret,
            "kinds": [
                (ChannelKind.APPRISE, "Chat or push (Apprise)"),
                (ChannelKind.WEBHOOK, "Webhook"),
            ],
            "audiences": services.AUDIENCES,
            "nav": "channels",
        },
    )


@team_page_for("channel.manage")
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a channel's name, audiences or wording; a new URL replaces the stored one."""
    channel = Channel.objects.filter(pk=pk).first()
    if channel is None:
        raise NotFound(f"No channel {pk}.")
    form: dict[str, Any] = {
        "name": channel.name,
        "audiences": channel.audiences,
        "template": channel.template,
        "url": "",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", ""),
            "audiences": request.POST.getlist("audiences"),
            "template": request.POST.get("template", ""),
            "url": request.POST.get("url", "").strip(),
        }
        try:
            services.channel_update(
                by=request.user,  # type: ignore[arg-type]
                channel_id=pk,
                name=form["name"],
                audiences=form["audiences"],
                template=form["template"],
                url=form["url"] or None,
            )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            errors = {e.field: e.message for e in exc.errors} or {"form": exc.detail}
        else:
            messages.success(request, f"Channel {form['name'].strip()} saved.")
            return redirect("comms:channels")
    return render(
        request,
        "comms/channel_edit.html",
        {
            "channel": channel,
            "form": form,
            "errors": errors,
            "audiences": services.AUDIENCES,
            "nav": "channels",
        },
    )


@team_page_for("channel.manage")
@require_POST
def channel_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        if action == "delete":
            services.channel_delete(by=request.user, channel_id=pk)  # type: ignore[arg-type]
            messages.success(request, "Channel deleted.")
        elif action in ("enable", "disable"):
            services.channel_update(by=request.user, channel_id=pk, active=action == "enable")  # type: ignore[arg-type]
            messages.success(request, f"Channel {action}d.")
        else:
            raise NotFound(f"No action {action}.")
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("comms:channels")


# -- preferences -----------------------------------------------------------------------------


@signed_in_page
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    pref = selectors.preference_of(request.user)  # type: ignore[arg-type]
    if request.method == "POST":
        wanted = set(request.POST.getlist("on"))
        muted = [
            f"{t}:{c}"
            for t in NOTIFICATION_TRIGGERS
            for c in services.PERSON_CHANNELS
            if f"{t}:{c}" not in wanted
        ]
        apprise_url: str | None = request.POST.get("apprise_url", "").strip()
        if request.POST.get("apprise_remove"):
            apprise_url = ""
        elif not apprise_url:
            apprise_url = None
        try:
            pref = services.preference_set(
                by=request.user,  # type: ignore[arg-type]
                muted=muted,
                apprise_url=apprise_url,
            )
        except PermissionDenied:
            raise
        except DomainError as exc:
            errors = {e.field: e.message for e in exc.errors} or {"form": exc.detail}
        else:
            messages.success(request, "Your notification preferences are saved.")
            return redirect("comms:preferences")
    off = set(pref.muted) if pref else set()
    rows = [
        (t, trigger_label(t), [(c, f"{t}:{c}" not in off) for c in services.PERSON_CHANNELS])
        for t in NOTIFICATION_TRIGGERS
    ]
    return render(
        request,
        "comms/preferences.html",
        {
            "rows": rows,
            "channels": services.PERSON_CHANNELS,
            "apprise_hint": pref.apprise_url_hint if pref else "",
            "can_be_paged": can(request.user, "oncall.test_page"),
            "errors": errors,
            "nav": "preferences",
        },
    )


@team_page
@require_POST
def test_page(request: HttpRequest) -> HttpResponse:
    """Send oneself a test page on every paging channel, at once."""
    sent = paging.page_test(by=request.user)  # type: ignore[arg-type]
    channels = "your e-mail" if sent == 1 else "your e-mail and your chat or push URL"
    messages.success(request, f"A test page is on its way to {channels}.")
    return redirect("comms:preferences")


# -- unsubscribe (no login: the signed link is the proof) -------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation; POST (the button, or a mail client's one-click request per
    RFC 8058, which carries no CSRF token) unsubscribes."""
    try:
        email = services.unsubscribe_email_of(token)
    except NotFound as exc:
        return render(request, "comms/unsubscribe.html", {"invalid": exc.detail}, status=404)
    done = False
    if request.method == "POST":
        services.unsubscribe_apply(token=token)
        done = True
    return render(request, "comms/unsubscribe.html", {"email": email, "done": done})
