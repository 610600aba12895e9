"""Stakeholder actions from the portal, the API and the e-mail intake, and the team's merge
of duplicates. Each checks permission, writes its rows and its timeline entry in one
transaction; the incident's own lifecycle stays with `incidents.services`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.dispatch import receiver

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.accounts.permissions import require
from incidentdesk.comms.services import message_queue
from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, FieldError, InvalidInput, NotFound
from incidentdesk.core.services import audit_record
from incidentdesk.core.text import clean
from incidentdesk.incidents import lifecycle, timeline
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, Incident, TimelineEntry
from incidentdesk.incidents.selectors import incident_get_for, incident_lock, parse_ref
from incidentdesk.incidents.services import report_rate_check
from incidentdesk.policy.selectors import active_policy
from incidentdesk.statuspage.models import Component

from . import files
from .files import Stored, Upload
from .models import Attachment, Follow, HeldMail, HeldState, ReportDetails, Source
from .selectors import Suggestion, joinable_incidents, mail_sender, suggestion_for

TEXT_MAX = 20_000
USERS_AFFECTED_MAX = 10_000_000


@contextmanager
def _stored(uploads: Sequence[Upload]) -> Iterator[list[Stored]]:
    """Store the files; remove them again if the transaction that records them fails."""
    stored: list[Stored] = []
    try:
        for upload in uploads:
            stored.append(files.store(upload))
        yield stored
    except BaseException:
        files.discard(stored)
        raise


def _attach(incident: Incident, by: User, stored: list[Stored]) -> list[dict[str, Any]]:
    now = clock.now()
    listed = []
    for item in stored:
        attachment = Attachment.objects.create(
            incident=incident,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            stored_as=item.stored_as,
            uploaded_by=by,
            uploaded_at=now,
        )
        listed.append(
            {"id": attachment.pk, "name": item.filename, "size": item.size, "sha256": item.sha256}
        )
    return listed


def attachment_usage(incident: Incident) -> tuple[int, int]:
    agg = Attachment.objects.filter(incident=incident).aggregate(total=Sum("size"))
    return Attachment.objects.filter(incident=incident).count(), agg["total"] or 0


def _follow(incident: Incident, user: User) -> bool:
    _, created = Follow.objects.get_or_create(
        incident=incident, user=user, defaults={"since": clock.now()}
    )
    return created


def _tell(*, incident: Incident, person: User, subject: str, body: str, key: str) -> None:
    """Queue a mail to one person in the caller's transaction; the worker delivers it."""
    message_queue(
        channel="email",
        recipient=person.email,
        subject=subject,
        body_markdown=body,
        key=key,
        incident=incident,
        headers={"Auto-Submitted": "auto-replied"},
    )


# -- reporting -------------------------------------------------------------------------------


def _check_report(
    *,
    title: str,
    description: str,
    problem_type: str,
    component_id: int | None,
    users_affected: int | None,
    steps: str,
    uploads: Sequence[Upload],
) -> Component | None:
    """Every mistake in a report at once; the component it names."""
    errors: list[FieldError] = []
    if not (title or "").strip():
        errors.append(FieldError("title", "Say in a few words what is wrong."))
    elif len(title.strip()) > TITLE_MAX:
        errors.append(FieldError("title", f"At most {TITLE_MAX} characters."))
    if len((description or "").strip()) > DESCRIPTION_MAX:
        errors.append(FieldError("description", f"At most {DESCRIPTION_MAX} characters."))
    _, policy = active_policy()
    if problem_type and problem_type not in policy.types:
        errors.append(FieldError("problem_type", f"Unknown kind of problem {problem_type!r}."))
    component = None
    if component_id is not None:
        component = Component.objects.filter(pk=component_id).first()
        if component is None:
            errors.append(FieldError("component", "No such service or component."))
    if users_affected is not None and not 0 <= users_affected <= USERS_AFFECTED_MAX:
        errors.append(FieldError("users_affected", "Give a number of users from 0 upwards."))
    if len(steps) > TEXT_MAX:
        errors.append(FieldError("steps", f"At most {TEXT_MAX} characters."))
    errors += files.check(list(uploads), existing_count=0, existing_bytes=0)
    if errors:
        raise InvalidInput("The problem was not reported: " + errors[0].message, errors)
    return component


def portal_report(
    *,
    by: User,
    title: str,
    description: str = "",
    started_at: dt.datetime | None = None,
    problem_type: str = "",
    component_id: int | None = None,
    users_affected: int | None = None,
    steps: str = "",
    uploads: Sequence[Upload] = (),
    source: str = Source.PORTAL,
) -> Incident:
    """Report a problem with everything the policy's checklist asks for. The reporter follows
    the incident from then on."""
    require(by, "incident.report")
    report_rate_check(by)
    steps = clean("steps", steps, limit=TEXT_MAX, required=False)
    component = _check_report(
        title=title,
        description=description,
        problem_type=problem_type,
        component_id=component_id,
        users_affected=users_affected,
        steps=steps,
        uploads=uploads,
    )

    with _stored(uploads) as stored, transaction.atomic():
        reported = incidents.incident_report(
            by=by, title=title, description=description, started_at=started_at, source=source
        )
        incident = incident_get_for(by, reported.ref, for_update=True)
        ReportDetails.objects.create(
            incident=incident,
            problem_type=problem_type,
            component=component,
            users_affected=users_affected,
            steps=steps,
            source=source,
        )
        timeline.append(
            incident,
            kind="report_details",
            by=by,
            data={
                "problem_type": problem_type or None,
                "component": component.name if component else None,
                "users_affected": users_affected,
                "steps": steps,
                "attachments": _attach(incident, by, stored),
            },
        )
        _follow(incident, by)
        incident.save()
        if source == Source.EMAIL:
            _tell(
                incident=incident,
                person=by,
                subject=f"Received: {incident.title}",
                body=(
                    f"Thank you: we received your report as **{incident.ref}**.\n\n"
                    "To add information, reply to this message and keep the reference in the "
                    f"subject. Follow it here: {settings.BASE_URL}/portal/{incident.ref}/"
                ),
                key=f"portal-received-{incident.pk}",
            )
    return incident


# -- following the incident -------------------------------------------------------------------


def portal_comment(
    *,
    by: User,
    incident: Incident | str,
    body: str,
    uploads: Sequence[Upload] = (),
    source: str = Source.PORTAL,
) -> TimelineEntry:
    """A comment or more evidence from a stakeholder (or the team) on the incident."""
    require(by, "portal.comment")
    if uploads:
        require(by, "portal.attach")
    body = clean("body", body, limit=TEXT_MAX, required=False)
    if not body and not uploads:
        raise InvalidInput(
            "Write a comment or attach a file.",
            [FieldError("body", "Write a comment or attach a file.")],
        )
    with transaction.atomic():
        locked = incident_lock(by, incident)
        if locked.status in (lifecycle.Status.CLOSED, lifecycle.Status.REJECTED):
            raise Conflict(f"{locked.ref} is {locked.status}: report a new problem if it is back.")
        count, total = attachment_usage(locked)
        files.refuse_if_broken(
            files.check(list(uploads), existing_count=count, existing_bytes=total)
        )
        with _stored(uploads) as stored:
            entry = timeline.append(
                locked,
                kind="stakeholder_comment",
                by=by,
                data={"body": body, "attachments": _attach(locked, by, stored), "source": source},
            )
            locked.save()
    return entry


def portal_follow(*, by: User, incident: Incident | str) -> bool:
    """Follow the incident; False when already following."""
    require(by, "portal.follow")
    with transaction.atomic():
        locked = incident_lock(by, incident)
        if not _follow(locked, by):
            return False
        timeline.append(locked, kind="followed", by=by, data={"user": by.email})
        locked.save()
    return True


def portal_unfollow(*, by: User, incident: Incident | str) -> bool:
    """Stop following; False when not following."""
    require(by, "portal.follow")
    with transaction.atomic():
        locked = incident_lock(by, incident)
        deleted, _ = Follow.objects.filter(incident=locked, user=by).delete()
        if not deleted:
            return False
        timeline.append(locked, kind="unfollowed", by=by, data={"user": by.email})
        locked.save()
    return True


@dataclass(frozen=True)
class Joined:
    """The answer to "we are affected too": `linked` when the organisation is now listed as
    affected; otherwise the team was asked, and the incident is shown by `suggestion` only."""

    incident: Incident
    linked: bool
    suggestion: Suggestion


def portal_join(*, by: User, incident: str, from_incident: str | None = None) -> Joined:
    """ "It is one of these": say the stakeholder's organisation is affected by an open
    incident it may find. An incident it already sees lists the organisation as affected at
    once, and the stakeholder follows it. An incident it knows only from the public status
    page reveals nothing more: the team is asked to link the organisation (`org_join_requested`)
    and until it does, the stakeholder sees only the public title and status. Any other ref,
    whether it exists or not, is the same NotFound. With `from_incident`, the reporter's own
    new report records that it is the same problem, for the team to merge."""
    require(by, "portal.join")
    org = by.organisation
    if org is None:
        raise Conflict("Your account belongs to no organisation; ask the team to add it.")
    pk = parse_ref(incident)
    with transaction.atomic():
        target = joinable_incidents(by).select_for_update(of=("self",)).filter(pk=pk).first()
        shown = suggestion_for(by, target) if target is not None else None
        if target is None or shown is None:
            raise NotFound(f"No open incident {incident}.")
        source = incident_get_for(by, from_incident, for_update=True) if from_incident else None
        if source is not None and source.pk == target.pk:
            raise InvalidInput(
                "An incident cannot join itself.",
                [FieldError("incident", "An incident cannot join itself.")],
            )
        if shown.linked:
            _link(target, org, by=by, source=source)
        else:
            _ask_to_link(target, org, by=by, source=source)
        if source is not None:
            timeline.append(
                source,
                kind="reporter_joined",
                by=by,
                data={"incident": target.ref, "linked": shown.linked},
            )
            source.save()
    return Joined(target, shown.linked, shown)


def _link(target: Incident, org: StakeholderOrg, *, by: User, source: Incident | None) -> None:
    already = target.affected_orgs.filter(pk=org.pk).exists()
    target.affected_orgs.add(org)
    _follow(target, by)
    timeline.append(
        target,
        kind="org_joined",
        by=by,
        data={
            "organisation": org.name,
            "already_affected": already,
            "from": source.ref if source else None,
        },
    )
    target.save()


def _ask_to_link(
    target: Incident, org: StakeholderOrg, *, by: User, source: Incident | None
) -> None:
    """Record the request once per person; the team sees it on the similar-incidents page."""
    asked = target.timeline.filter(
        kind="org_join_requested", actor=by, data__organisation_id=org.pk
    ).exists()
    if asked and source is None:
        return
    timeline.append(
        target,
        kind="org_join_requested",
        by=by,
        data={
            "organisation": org.name,
            "organisation_id": org.pk,
            "from": source.ref if source else None,
        },
    )
    target.save()


def incident_link_organisation(
    *, by: User, incident: Incident | str, organisation: str
) -> Incident:
    """The team lists an organisation as affected (typically one that asked to join): its
    people may then see the incident, and those who asked follow it and are told so."""
    require(by, "incident.link_organisation")
    name = (organisation or "").strip()
    org = StakeholderOrg.objects.filter(name=name, active=True).first()
    if org is None:
        raise InvalidInput(
            f"No active organisation {name!r}.",
            [FieldError("organisation", f"No active organisation {name!r}.")],
        )
    with transaction.atomic():
        locked = incident_lock(by, incident)
        if locked.reporter_org_id == org.pk or locked.affected_orgs.filter(pk=org.pk).exists():
            raise Conflict(f"{org.name} is already affected by {locked.ref}.")
        locked.affected_orgs.add(org)
        asked = User.objects.filter(
            pk__in=locked.timeline.filter(
                kind="org_join_requested", data__organisation_id=org.pk
            ).values("actor_id"),
            is_active=True,
            organisation=org,
        ).order_by("pk")
        people = list(asked)
        for person in people:
            _follow(locked, person)
        timeline.append(
            locked,
            kind="org_joined",
            by=by,
            data={
                "organisation": org.name,
                "already_affected": False,
                "from": None,
                "followers_added": [p.email for p in people],
            },
        )
        locked.save()
        for person in people:
            _tell(
                incident=locked,
                person=person,
                subject=f"{org.name} is now listed as affected by {locked.ref}",
                body=(
                    f"The team listed {org.name} as affected by **{locked.ref}: "
                    f"{locked.title}**, as you asked. You follow it and will hear of its "
                    f"progress: {settings.BASE_URL}/portal/{locked.ref}/"
                ),
                key=f"portal-linked-{locked.pk}-{org.pk}-{person.pk}",
            )
    return locked


# -- duplicates (the team) --------------------------------------------------------------------


def incident_merge(
    *, by: User, duplicate: str, original: str, reason: str = ""
) -> tuple[Incident, Incident]:
    """Reject `duplicate` as a duplicate of `original`. The rejection carries over its
    organisations and followers (`on_rejected_as_duplicate`), as it does from any page."""
    require(by, "incident.merge")
    with transaction.atomic():
        dup = incident_get_for(by, duplicate, for_update=True)
        orig = incident_get_for(by, original, for_update=True)
        if dup.pk == orig.pk:
            raise InvalidInput(
                "An incident cannot duplicate itself.",
                [FieldError("original", "An incident cannot duplicate itself.")],
            )
        if orig.status == lifecycle.Status.REJECTED:
            raise Conflict(f"{orig.ref} is rejected: merge into the incident it points to.")
        incidents.incident_reject(
            by=by,
            incident=dup.ref,
            reason=(reason or "").strip() or f"The same problem as {orig.ref}.",
            duplicate_of=orig.ref,
        )
        dup.refresh_from_db()
        orig.refresh_from_db()
    return dup, orig


@receiver(timeline.entry_appended, dispatch_uid="portal.duplicate_carry_over")
def on_rejected_as_duplicate(
    sender: Any, incident: Incident, entry: TimelineEntry, **kwargs: Any
) -> None:
    """Whoever rejects a report as a duplicate (the merge, the incident page, the API), the
    kept incident lists the duplicate's organisations, and its reporter and followers follow
    the kept incident and are told so, in the rejection's own transaction."""
    if entry.kind != "rejected" or incident.duplicate_of_id is None:
        return
    orig = Incident.objects.select_for_update().get(pk=incident.duplicate_of_id)
    _carry_over(by=entry.actor, dup=incident, orig=orig)
    orig.save()


def _carry_over(*, by: User | None, dup: Incident, orig: Incident) -> None:
    known = set(orig.affected_orgs.values_list("pk", flat=True))
    carried = list(dup.affected_orgs.all())
    if dup.reporter_org is not None:
        carried.append(dup.reporter_org)
    added_orgs = list({o.pk: o for o in carried if o.pk not in known}.values())
    orig.affected_orgs.add(*added_orgs)
    people = {f.user for f in Follow.objects.filter(incident=dup).select_related("user")}
    if dup.reporter is not None:
        people.add(dup.reporter)
    added_people = sorted(
        p.email for p in people if p.is_active and not p.is_team and _follow(orig, p)
    )
    for person in sorted(people, key=lambda p: p.pk):
        if person.is_active and not person.is_team:
            _tell(
                incident=orig,
                person=person,
                subject=f"{dup.ref} is the same problem as {orig.ref}",
                body=(
                    f"Thank you for reporting {dup.ref}. It is the same problem as "
                    f"**{orig.ref}: {orig.title}**, reported earlier, so the team works on "
                    "it there. Your organisation is listed as affected and you will hear "
                    f"of its progress: {settings.BASE_URL}/portal/{orig.ref}/"
                ),
                key=f"portal-merged-{dup.pk}-{person.pk}",
            )
    timeline.append(
        orig,
        kind="merged",
        by=by,
        data={
            "duplicate": dup.ref,
            "organisations_added": sorted(o.name for o in added_orgs),
            "followers_added": added_people,
        },
    )


# -- held mail (the team) ---------------------------------------------------------------------


def held_mail_keep(
    *,
    envelope_from: str,
    from_address: str,
    subject: str,
    body: str,
    reason: str,
    rcpt_tos: Sequence[str],
    raw: bytes,
) -> HeldMail | None:
    """Keep a mail the intake did not attribute, for the team to decide on. None when
    MAIL_HELD_MAX mails already wait: a flood of strangers' mail cannot fill the database."""
    with transaction.atomic():
        if HeldMail.objects.filter(state=HeldState.HELD).count() >= settings.MAIL_HELD_MAX:
            return None
        held = HeldMail.objects.create(
            received_at=clock.now(),
            envelope_from=envelope_from[:320],
            from_address=from_address[:320],
            subject=subject[:250],
            body=body[:TEXT_MAX],
            reason=reason[:500],
            rcpt_tos=list(rcpt_tos),
            raw=raw,
        )
        audit_record(
            by=None,
            kind="mail_held",
            data={"held": held.pk, "from": held.from_address, "reason": held.reason},
        )
    return held


def _held_for_decision(held: int) -> HeldMail:
    mail = HeldMail.objects.select_for_update().filter(pk=held).first()
    if mail is None:
        raise NotFound("No such held mail.")
    if mail.state != HeldState.HELD:
        raise Conflict(f"This mail was already {mail.state}.")
    return mail


def held_mail_accept(*, by: User, held: int) -> HeldMail:
    """The team vouches for a held mail: it becomes the report, answer or comment of the
    stakeholder registered with its From: address, exactly as a verified mail would."""
    from .intake import deliver, parse  # lazy: intake files what it receives through these services

    require(by, "portal.held_mail")
    with transaction.atomic():
        mail = _held_for_decision(held)
        sender = mail_sender(mail.from_address)
        if sender is None:
            raise Conflict(
                f"{mail.from_address or 'The sender'} is not the registered address of an "
                "active stakeholder: register it first, or discard the mail."
            )
        incident = deliver(sender, parse(bytes(mail.raw)), list(mail.rcpt_tos))
        mail.state = HeldState.ACCEPTED
        mail.decided_by, mail.decided_at, mail.incident = by, clock.now(), incident
        mail.save(update_fields=["state", "decided_by", "decided_at", "incident"])
        audit_record(
            by=by,
            kind="held_mail_accepted",
            data={"held": mail.pk, "from": mail.from_address, "incident": incident.ref},
        )
    return mail


def held_mail_discard(*, by: User, held: int) -> HeldMail:
    """The team drops a held mail; it stays listed as discarded, attributed to nobody."""
    require(by, "portal.held_mail")
    with transaction.atomic():
        mail = _held_for_decision(held)
        mail.state = HeldState.DISCARDED
        mail.decided_by, mail.decided_at = by, clock.now()
        mail.save(update_fields=["state", "decided_by", "decided_at"])
        audit_record(
            by=by,
            kind="held_mail_discarded",
            data={"held": mail.pk, "from": mail.from_address, "subject": mail.subject},
        )
    return mail
