"""Every change to reviews and action items. Each checks permission, writes, and documents
itself as an entry in the incident's timeline in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound, field_error
from incidentdesk.core.text import clean
from incidentdesk.incidents import timeline
from incidentdesk.incidents.lifecycle import Status
from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.selectors import incident_lock
from incidentdesk.policy.schema import format_duration

from .models import (
    SECTION_KEYS,
    ActionItem,
    ActionKind,
    ActionStatus,
    Review,
    ReviewComment,
    ReviewRevision,
    ReviewState,
)
from .selectors import (
    KEY_KINDS,
    UNFINISHED,
    impact_facts,
    local_date,
    review_requirement,
)

SECTION_MAX = 20_000
NOTE_MAX = 1_000
TITLE_MAX = 300


def _locked(by: User, incident: Incident | str) -> Incident:
    return incident_lock(by, incident)


def _review_locked(incident: Incident) -> Review:
    review = Review.objects.select_for_update().filter(incident=incident).first()
    if review is None:
        raise NotFound(f"{incident.ref} has no review yet: start one first.")
    return review


def _impact_markdown(incident: Incident) -> str:
    facts = impact_facts(incident)
    lines = [f"- Reported: {facts.reported_at:%Y-%m-%d %H:%M %Z}"]
    if facts.started_at:
        lines.append(f"- Started: {facts.started_at:%Y-%m-%d %H:%M %Z}")
    if facts.resolved_at:
        lines.append(f"- Resolved: {facts.resolved_at:%Y-%m-%d %H:%M %Z}")
    if facts.duration is not None:
        lines.append(f"- Duration (reported to resolved): {format_duration(facts.duration)}")
    if facts.outage is not None:
        lines.append(f"- Outage (started to resolved): {format_duration(facts.outage)}")
    orgs = ", ".join(facts.organisations) or "none recorded"
    lines.append(f"- Affected organisations ({len(facts.organisations)}): {orgs}")
    if facts.severity_history:
        steps = ", ".join(
            f"{h['severity']} at {h['at']:%Y-%m-%d %H:%M}" for h in facts.severity_history
        )
        lines.append(f"- Severity: {steps}")
    return "\n".join(lines) + "\n"


def review_start(*, by: User, incident: Incident | str) -> Review:
    """Start the review from the template: impact figures and key timeline entries filled in."""
    require(by, "review.edit")
    with transaction.atomic():
        incident = _locked(by, incident)
        if incident.status == Status.REJECTED:
            raise Conflict(f"{incident.ref} was rejected: it is not reviewed.")
        if Review.objects.filter(incident=incident).exists():
            raise Conflict(f"{incident.ref} already has a review.")
        now = clock.now()
        picks = [
            {"seq": seq, "note": ""}
            for seq in incident.timeline.filter(kind__in=KEY_KINDS)
            .order_by("seq")
            .values_list("seq", flat=True)
        ]
        sections = dict.fromkeys(SECTION_KEYS, "")
        sections["summary"] = incident.resolution_summary
        sections["impact"] = _impact_markdown(incident)
        review = Review.objects.create(
            incident=incident,
            author=by,
            sections=sections,
            picks=picks,
            created_at=now,
            updated_at=now,
        )
        timeline.append(incident, kind="review_started", by=by, data={"review": review.pk})
        incident.save()
    return review


def _clean_sections(sections: dict[str, str]) -> dict[str, str]:
    unknown = [k for k in sections if k not in SECTION_KEYS]
    errors = [FieldError(f"sections.{k}", "Unknown section.") for k in unknown]
    clean = {}
    for key in SECTION_KEYS:
        value = (sections.get(key) or "").replace("\r\n", "\n").strip()
        if len(value) > SECTION_MAX:
            errors.append(FieldError(f"sections.{key}", f"At most {SECTION_MAX} characters."))
        clean[key] = value
    if errors:
        raise InvalidInput("The review was not saved.", errors)
    return clean


def _clean_picks(incident: Incident, picks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = set(incident.timeline.values_list("seq", flat=True))
    clean, errors, seen = [], [], set()
    for i, pick in enumerate(picks):
        seq, note = pick.get("seq"), (pick.get("note") or "").strip()
        if not isinstance(seq, int) or seq not in known:
            errors.append(FieldError(f"picks.{i}.seq", f"{incident.ref} has no entry {seq}."))
            continue
        if len(note) > NOTE_MAX:
            errors.append(FieldError(f"picks.{i}.note", f"At most {NOTE_MAX} characters."))
        if seq not in seen:
            seen.add(seq)
            clean.append({"seq": seq, "note": note})
    if errors:
        raise InvalidInput("The review was not saved.", errors)
    return sorted(clean, key=lambda p: p["seq"])


def review_save(
    *,
    by: User,
    incident: Incident | str,
    sections: dict[str, str],
    picks: list[dict[str, Any]] | None = None,
) -> Review:
    """Save the text. Editing a published review writes a new revision; earlier ones stay."""
    require(by, "review.edit")
    with transaction.atomic():
        incident = _locked(by, incident)
        review = _review_locked(incident)
        clean = _clean_sections(sections)
        clean_picks = review.picks if picks is None else _clean_picks(incident, picks)
        if clean == review.sections and clean_picks == review.picks:
            return review
        changed = sorted(k for k in SECTION_KEYS if clean[k] != review.sections.get(k, ""))
        review.sections, review.picks = clean, clean_picks
        review.updated_at = clock.now()
        data: dict[str, Any] = {"review": review.pk, "sections": changed}
        if review.state == ReviewState.PUBLISHED:
            review.revision += 1
            _snapshot(review, by, "edited after publication")
            data["revision"] = review.revision
            data["public_summary"] = "" if incident.private else clean["public_summary"]
            kind = "review_revised"
        else:
            kind = "review_edited"
        review.save()
        timeline.append(incident, kind=kind, by=by, data=data)
        incident.save()
    return review


def _snapshot(review: Review, by: User, note: str) -> None:
    ReviewRevision.objects.create(
        review=review,
        number=review.revision,
        sections=review.sections,
        picks=review.picks,
        saved_by=by,
        saved_at=review.updated_at,
        note=note,
    )


def review_submit(*, by: User, incident: Incident | str) -> Review:
    """Ask the team to read and comment: draft -> in review."""
    require(by, "review.edit")
    with transaction.atomic():
        incident = _locked(by, incident)
        review = _review_locked(incident)
        if review.state != ReviewState.DRAFT:
            raise Conflict(f"The review of {incident.ref} is {review.get_state_display()}.")
        review.state = ReviewState.IN_REVIEW
        review.updated_at = clock.now()
        review.save()
        timeline.append(incident, kind="review_submitted", by=by, data={"review": review.pk})
        incident.save()
    return review


def review_publish(*, by: User, incident: Incident | str) -> Review:
    require(by, "review.publish")
    with transaction.atomic():
        incident = _locked(by, incident)
        review = _review_locked(incident)
        if review.state == ReviewState.PUBLISHED:
            raise Conflict(f"The review of {incident.ref} is already published.")
        missing = [k for k in ("summary", "trigger", "lessons") if not review.sections.get(k)]
        if missing:
            raise InvalidInput(
                "A review is published with at least its summary, trigger and lessons.",
                [FieldError(f"sections.{k}", "Required to publish.") for k in missing],
            )
        now = clock.now()
        review.state = ReviewState.PUBLISHED
        review.published_at = review.published_at or now
        review.updated_at = now
        review.revision += 1
        review.save()
        _snapshot(review, by, "published")
        # the status page shows this as the postmortem of a public incident, never of a
        # private one
        public = "" if incident.private else review.sections.get("public_summary", "")
        timeline.append(
            incident,
            kind="review_published",
            by=by,
            data={"review": review.pk, "revision": review.revision, "public_summary": public},
        )
        incident.save()
    return review


def review_comment(
    *, by: User, incident: Incident | str, body: str, section: str = ""
) -> ReviewComment:
    require(by, "review.comment")
    body = clean("body", body, limit=5_000)
    if section and section not in SECTION_KEYS:
        raise field_error("section", f"Unknown section {section!r}.")
    with transaction.atomic():
        incident = _locked(by, incident)
        review = _review_locked(incident)
        comment = ReviewComment.objects.create(
            review=review, section=section, body=body, author=by, at=clock.now()
        )
        timeline.append(
            incident,
            kind="review_commented",
            by=by,
            data={"review": review.pk, "comment": comment.pk, "section": section},
        )
        incident.save()
    return comment


def review_waive(*, by: User, incident: Incident | str, reason: str) -> Review:
    """A manager decides this incident is closed without a review, for a recorded reason."""
    require(by, "review.waive")
    reason = clean("reason", reason, limit=2_000)
    with transaction.atomic():
        incident = _locked(by, incident)
        now = clock.now()
        review, _ = Review.objects.select_for_update().get_or_create(
            incident=incident,
            defaults={"author": by, "created_at": now, "updated_at": now},
        )
        if review.state == ReviewState.PUBLISHED:
            raise Conflict(f"The review of {incident.ref} is published: nothing to waive.")
        review.waived_at, review.waived_by, review.waiver_reason = now, by, reason
        review.save()
        timeline.append(
            incident, kind="review_waived", by=by, data={"review": review.pk, "reason": reason}
        )
        incident.save()
    return review


def close_check(sender: Any, incident: Incident, **kwargs: Any) -> str | None:
    """Refuse to close an incident whose severity requires a review until it is published
    (a receiver of `incidents.services.close_requested`)."""
    need = review_requirement(incident)
    if not need.required or need.satisfied:
        return None
    due = f" (due {need.due:%d %b %Y})" if need.due else ""
    return (
        f"{incident.ref} is {incident.severity}: its post-incident review must be published "
        f"before it is closed{due}, or a manager may waive it with a reason."
    )


# -- action items ---------------------------------------------------------------------------


def _owner(email: str) -> User:
    owner = User.objects.filter(email=(email or "").strip().lower(), is_active=True).first()
    if owner is None or not owner.is_team:
        raise field_error("owner", f"{email or 'The owner'} is not an active member of the team.")
    return owner


def action_item_add(
    *,
    by: User,
    incident: Incident | str,
    title: str,
    kind: str,
    owner: str,
    due_date: dt.date | None,
    sections: dict[str, str] | None = None,
    picks: list[dict[str, Any]] | None = None,
) -> ActionItem:
    """Add an action item from the review page with the review text typed beside it: both
    are saved, or (when either is refused) neither."""
    with transaction.atomic():
        item = action_item_create(
            by=by, incident=incident, title=title, kind=kind, owner=owner, due_date=due_date
        )
        if sections is not None:
            review_save(by=by, incident=incident, sections=sections, picks=picks)
    return item


def action_item_create(
    *,
    by: User,
    incident: Incident | str,
    title: str,
    kind: str,
    owner: str,
    due_date: dt.date | None,
) -> ActionItem:
    require(by, "action.edit")
    errors: list[FieldError] = []
    try:
        title = clean("title", title, limit=TITLE_MAX, multiline=False)
    except InvalidInput as exc:
        errors += exc.errors
    if kind not in ActionKind.values:
        errors.append(FieldError("kind", f"Kind is one of: {', '.join(ActionKind.values)}."))
    owner_user = None
    try:
        owner_user = _owner(owner)
    except InvalidInput as exc:
        errors += exc.errors
    if due_date is None:
        errors.append(FieldError("due_date", "Due date is required."))
    elif due_date < local_date(clock.now()):
        errors.append(FieldError("due_date", "The due date cannot be in the past."))
    if errors:
        raise InvalidInput("The action item was not added.", errors)
    assert owner_user is not None and due_date is not None
    with transaction.atomic():
        incident = _locked(by, incident)
        item = ActionItem.objects.create(
            incident=incident,
            title=title,
            kind=kind,
            owner=owner_user,
            due_date=due_date,
            created_by=by,
            created_at=clock.now(),
            remind_on=due_date - REMIND_BEFORE,
        )
        timeline.append(
            incident,
            kind="action_item_added",
            by=by,
            data={
                "item": item.pk,
                "title": title,
                "kind": kind,
                "owner": owner_user.email,
                "due_date": due_date.isoformat(),
            },
        )
        incident.save()
    return item


def action_item_update(
    *,
    by: User,
    item_id: int,
    status: str | None = None,
    owner: str | None = None,
    due_date: dt.date | None = None,
) -> ActionItem:
    require(by, "action.edit")
    if status is not None and status not in ActionStatus.values:
        raise field_error("status", f"Status is one of: {', '.join(ActionStatus.values)}.")
    owner_user = _owner(owner) if owner else None
    with transaction.atomic():
        ref = ActionItem.objects.filter(pk=item_id).values_list("incident_id", flat=True).first()
        if ref is None:
            raise NotFound(f"No action item {item_id}.")
        incident = _locked(by, f"INC-{ref}")
        item = ActionItem.objects.select_for_update().get(pk=item_id)
        changes: dict[str, Any] = {}
        if status is not None and status != item.status:
            changes["status"] = [item.status, status]
            item.status = status
            item.done_at = clock.now() if status == ActionStatus.DONE else None
        if owner_user is not None and owner_user.pk != item.owner_id:
            changes["owner"] = [item.owner.email, owner_user.email]
            item.owner = owner_user
        if due_date is not None and due_date != item.due_date:
            changes["due_date"] = [item.due_date.isoformat(), due_date.isoformat()]
            item.due_date = due_date
        if not changes:
            return item
        item.remind_on = next_remind_on(item)
        item.save()
        timeline.append(
            incident,
            kind="action_item_updated",
            by=by,
            data={"item": item.pk, "title": item.title, "changes": changes},
        )
        incident.save()
    return item


# -- periodic reminders -----------------------------------------------------------------------

REMIND_BEFORE = dt.timedelta(days=2)
CHECK_BATCH = 200


def next_remind_on(item: ActionItem) -> dt.date | None:
    """The next day a reminder is due for the item: two days before its due date, then the
    day after it; none once both are written or the item is finished."""
    if item.status not in UNFINISHED or item.reminded_overdue_for == item.due_date:
        return None
    if item.reminded_soon_for == item.due_date:
        return item.due_date + dt.timedelta(days=1)
    return item.due_date - REMIND_BEFORE


def action_item_reminders() -> int:
    """Timeline entries "action_item_due_soon" and "action_item_overdue", once per due date.
    Reads only the items whose `remind_on` has come (an index), so a run costs what is due,
    not what exists. Safe to run concurrently: workers skip an item another is reminding of.
    Notifications pick them up from the timeline. Returns the number written."""
    today = local_date(clock.now())
    written = 0
    due = ActionItem.objects.filter(remind_on__lte=today).order_by("remind_on", "pk")
    for pk, incident_id in list(due.values_list("pk", "incident_id")[:CHECK_BATCH]):
        with transaction.atomic():
            # the incident first, then the item: the order every change to an item takes
            incident = Incident.objects.select_for_update(skip_locked=True).filter(pk=incident_id)
            locked = incident.first()
            if locked is None:  # being changed meanwhile: the next run reminds
                continue
            item = (
                ActionItem.objects.select_for_update(skip_locked=True)
                .select_related("owner")
                .filter(pk=pk, remind_on__lte=today)
                .first()
            )
            if item is None:  # reminded by another worker meanwhile
                continue
            kind = None
            if item.status in UNFINISHED:
                if item.due_date < today and item.reminded_overdue_for != item.due_date:
                    kind, item.reminded_overdue_for = "action_item_overdue", item.due_date
                elif item.due_date >= today and item.reminded_soon_for != item.due_date:
                    kind, item.reminded_soon_for = "action_item_due_soon", item.due_date
            item.remind_on = next_remind_on(item)
            item.save()
            if kind is None:
                continue
            timeline.append(
                locked,
                kind=kind,
                by=None,
                data={
                    "item": item.pk,
                    "title": item.title,
                    "owner": item.owner.email,
                    "due_date": item.due_date.isoformat(),
                },
            )
            locked.save()
            written += 1
    return written


def review_due_check() -> int:
    """A "review_due" entry, once, on each incident whose required review is past its due date.
    Reads only the incidents whose `review_check_on` has come (an index), so a run costs what
    is due, not every finished incident ever. Safe to run concurrently: workers skip an
    incident another is checking. Returns the number written."""
    today = local_date(clock.now())
    written = 0
    due = Incident.objects.filter(review_check_on__lte=today).order_by("review_check_on", "pk")
    for pk in list(due.values_list("pk", flat=True)[:CHECK_BATCH]):
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, review_check_on__lte=today)
                .first()
            )
            if incident is None:  # checked by another worker meanwhile
                continue
            need = review_requirement(incident)
            finished = incident.status in (Status.RESOLVED, Status.CLOSED)
            if need.required and not need.satisfied and need.due is not None and finished:
                if need.due >= today:  # not yet: look again the day after it falls due
                    incident.review_check_on = need.due + dt.timedelta(days=1)
                    incident.save(update_fields=["review_check_on"])
                    continue
                key = need.due.isoformat()
                if not incident.timeline.filter(kind="review_due", data__due=key).exists():
                    timeline.append(
                        incident,
                        kind="review_due",
                        by=None,
                        data={"due": key, "severity": incident.severity},
                    )
                    incident.review_check_on = None
                    incident.save()
                    written += 1
                    continue
            incident.review_check_on = None
            incident.save(update_fields=["review_check_on"])
    return written
