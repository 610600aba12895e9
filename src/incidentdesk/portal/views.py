"""The stakeholder portal's pages and the team's "similar incidents" and held-mail pages. Thin: every write
is a service call; every read goes through the selectors' visibility rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.accounts.pages import signed_in_page, stakeholder_page, team_page
from incidentdesk.accounts.permissions import can
from incidentdesk.core.errors import DomainError, InvalidInput, NotFound, RateLimited
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import (
    incident_get_for,
    open_info_requests,
    visible_incidents,
)
from incidentdesk.policy.selectors import active_policy

from . import selectors, services
from .forms import AnswerForm, CommentForm, ReportForm, uploads_from

View = Callable[..., HttpResponseBase]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors_into(form: Any, exc: DomainError) -> None:
    placed = False
    for error in exc.errors:
        if error.field in form.fields:
            form.add_error(error.field, error.message)
            placed = True
    if not placed:
        form.add_error(None, exc.detail)


@require_GET
@stakeholder_page
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = [
        {
            "incident": incident,
            "plain_status": selectors.plain_status(incident),
            "questions": sum(1 for q in incident.info_requests.all() if q.answered_at is None),
            "latest_update": selectors.latest_word(incident),
        }
        for incident in selectors.portal_incidents(user)[:200]
    ]
    return render(
        request,
        "portal/index.html",
        {"nav": "portal", "rows": rows, "intake_address": settings.INTAKE_ADDRESS},
    )


def _checklist(problem_type: str) -> list[str]:
    _, policy = active_policy()
    kind = policy.types.get(problem_type)
    if kind is not None:
        return list(kind.required_information)
    # before a kind is chosen: what every kind asks for, or a short general list
    lists = [t.required_information for t in policy.types.values() if not t.private]
    common = (
        [item for item in lists[0] if all(item in other for other in lists[1:])] if lists else []
    )
    return common if len(common) >= 2 else list(GENERAL_CHECKLIST)


# what helps the team with any kind of problem, when the reporter is not sure of the kind
GENERAL_CHECKLIST = (
    "What you were trying to do and what happened instead",
    "When it started",
    "Which service or page is affected",
    "How many of your users are affected",
)


@require_GET
@stakeholder_page
def checklist(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/_checklist.html",
        {"checklist": _checklist(request.GET.get("problem_type", ""))},
    )


@stakeholder_page
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.portal_report(
                by=_user(request),
                title=data["title"],
                description=data["description"],
                started_at=data["started_at"],
                problem_type=data["problem_type"],
                component_id=data["component"].pk if data["component"] else None,
                users_affected=data["users_affected"],
                steps=data["steps"],
                uploads=uploads_from(data["attachments"]),
            )
        except RateLimited as exc:
            form.add_error(None, exc.detail)
            status = exc.status_code
        except InvalidInput as exc:
            _errors_into(form, exc)
        else:
            return redirect(f"/portal/{incident.ref}/?reported=1")
    return render(
        request,
        "portal/report.html",
        {
            "nav": "portal",
            "form": form,
            "checklist": _checklist(form["problem_type"].value() or ""),
            "limits": _limits(),
        },
        status=status,
    )


def _limits() -> dict[str, Any]:
    return {
        "max_mb": settings.ATTACHMENT_MAX_BYTES // 2**20,
        "max_count": settings.ATTACHMENT_MAX_COUNT,
        "types": ", ".join(sorted(settings.ATTACHMENT_TYPES)),
    }


def _detail_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    user = _user(request)
    context: dict[str, Any] = {
        "nav": "portal",
        "incident": incident,
        "plain_status": selectors.plain_status(incident),
        "details": selectors.report_details(incident),
        "entries": selectors.conversation(user, incident),
        "questions": list(open_info_requests(incident)),
        "attachments": list(selectors.incident_attachments(incident)),
        "following": selectors.is_following(user, incident),
        # a merged report links to the original only where its reader may open it
        "original_visible": bool(
            incident.duplicate_of_id
            and visible_incidents(user).filter(pk=incident.duplicate_of_id).exists()
        ),
        "original_ref": f"INC-{incident.duplicate_of_id}" if incident.duplicate_of_id else "",
        "comment_form": CommentForm(),
        "just_reported": request.GET.get("reported") == "1",
        "limits": _limits(),
        "open": incident.status not in ("closed", "rejected"),
    }
    if context["just_reported"]:
        found = selectors.similar_open_incidents(incident, viewer=user)
        context["similar"] = selectors.suggestions_for(user, found)
    return context


@require_GET
@stakeholder_page
def detail(request: HttpRequest, ref: str) -> HttpResponse:
    incident = selectors.portal_incident_get(_user(request), ref)
    return render(request, "portal/detail.html", _detail_context(request, incident))


@require_GET
def detail_redirect(request: HttpRequest, ref: str) -> HttpResponse:
    """The address notifications link to (/portal/incidents/INC-n)."""
    return redirect(f"/portal/{ref.upper()}/")


def _back(ref: str) -> HttpResponse:
    return redirect(f"/portal/{ref.upper()}/")


@require_POST
@stakeholder_page
def answer(request: HttpRequest, ref: str) -> HttpResponse:
    incident = selectors.portal_incident_get(_user(request), ref)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            incidents.incident_provide_info(
                by=_user(request),
                incident=incident.ref,
                answer=form.cleaned_data["answer"],
                request_id=form.cleaned_data["request"],
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, "Thank you: your answer was sent to the team.")
    else:
        messages.error(request, "Write an answer before sending it.")
    return _back(incident.ref)


@require_POST
@stakeholder_page
def comment(request: HttpRequest, ref: str) -> HttpResponse:
    incident = selectors.portal_incident_get(_user(request), ref)
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portal_comment(
                by=_user(request),
                incident=incident.ref,
                body=form.cleaned_data["body"],
                uploads=uploads_from(form.cleaned_data["attachments"]),
            )
        except DomainError as exc:
            context = _detail_context(request, incident)
            _errors_into(form, exc)
            context["comment_form"] = form
            return render(request, "portal/detail.html", context, status=exc.status_code)
        messages.success(request, "Added to the incident.")
        return _back(incident.ref)
    context = _detail_context(request, incident)
    context["comment_form"] = form
    return render(request, "portal/detail.html", context, status=422)


@require_POST
@stakeholder_page
def follow(request: HttpRequest, ref: str) -> HttpResponse:
    incident = selectors.portal_incident_get(_user(request), ref)
    if request.POST.get("follow") == "0":
        services.portal_unfollow(by=_user(request), incident=incident.ref)
        messages.success(request, f"You no longer follow {incident.ref}.")
    else:
        services.portal_follow(by=_user(request), incident=incident.ref)
        messages.success(request, f"You follow {incident.ref}: you will hear of its progress.")
    return _back(incident.ref)


@require_POST
@stakeholder_page
def join(request: HttpRequest, ref: str) -> HttpResponse:
    source = request.POST.get("from") or None
    try:
        joined = services.portal_join(by=_user(request), incident=ref, from_incident=source)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return _back(source or ref)
    shown = joined.suggestion
    if joined.linked:
        messages.success(
            request,
            f"Your organisation is now listed as affected by {shown.ref}, and you follow it.",
        )
        return _back(shown.ref)
    messages.success(
        request,
        f"The team was asked to list your organisation as affected by {shown.ref} "
        f"(“{shown.title}”, {shown.plain_status.lower()} on the status page). "
        "You will hear from them once it is.",
    )
    return _back(source) if source else redirect("/portal/")


@require_GET
@signed_in_page
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    try:
        return selectors.attachment_download(_user(request), attachment_id)
    except NotFound:
        raise Http404("No such file.") from None


# -- the team ---------------------------------------------------------------------------------


@require_GET
@team_page
def similar(request: HttpRequest, ref: str) -> HttpResponse:
    user = _user(request)
    incident = incident_get_for(user, ref)
    affected = incident.affected_orgs.count()
    total = StakeholderOrg.objects.filter(active=True).count()
    _, policy = active_policy()
    suggested = policy.suggest_impact(affected, total)
    template = "portal/_similar.html" if request.htmx else "portal/similar.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "nav": "queue",
            "incident": incident,
            "similar": selectors.similar_open_incidents(incident),
            "affected": affected,
            "total_orgs": total,
            "suggested_impact": policy.impacts[suggested].label if suggested else None,
            "can_merge": can(user, "incident.merge"),
            "details": selectors.report_details(incident),
            "attachments": list(selectors.incident_attachments(incident)),
            "comments": list(incident.timeline.filter(kind="stakeholder_comment").order_by("seq")),
            "join_requests": selectors.join_requests(incident),
            "can_link": can(user, "incident.link_organisation"),
        },
    )


@require_POST
@team_page
def link_organisation(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        incident = services.incident_link_organisation(
            by=_user(request), incident=ref, organisation=request.POST.get("organisation", "")
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect(f"/incidents/{ref.upper()}/similar")
    messages.success(
        request,
        f"{request.POST.get('organisation', '').strip()} is now listed as affected by "
        f"{incident.ref}; the people who asked follow it.",
    )
    return redirect(f"/incidents/{incident.ref}/similar")


@require_POST
@team_page
def merge(request: HttpRequest, ref: str) -> HttpResponse:
    original = request.POST.get("original", "")
    try:
        dup, orig = services.incident_merge(
            by=_user(request),
            duplicate=ref,
            original=original,
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect(f"/incidents/{ref.upper()}/similar")
    messages.success(request, f"{dup.ref} was merged into {orig.ref}.")
    return redirect(f"/incidents/{orig.ref}/similar")


@require_GET
@team_page
def held_mail(request: HttpRequest) -> HttpResponse:
    waiting = selectors.held_mail_waiting()
    return render(
        request,
        "portal/held_mail.html",
        {
            "nav": "held-mail",
            "held": list(waiting[: selectors.HELD_PAGE]),
            "count": waiting.count(),
            "can_decide": can(_user(request), "portal.held_mail"),
        },
    )


@require_POST
@team_page
def held_mail_decide(request: HttpRequest, held: int, action: str) -> HttpResponse:
    decide = services.held_mail_accept if action == "accept" else services.held_mail_discard
    try:
        mail = decide(by=_user(request), held=held)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("/mail/held")
    if mail.incident is not None:
        messages.success(request, f"Mail from {mail.from_address} filed on {mail.incident.ref}.")
    else:
        messages.success(
            request, f"Mail from {mail.from_address or 'an unknown sender'} discarded."
        )
    return redirect("/mail/held")
