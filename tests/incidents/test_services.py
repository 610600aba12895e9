"""Each incident service: what it does, and on every refused path that it wrote nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from incidentdesk.incidents import roles
from incidentdesk.incidents import services as s
from incidentdesk.incidents.models import Incident, Task, TimelineEntry

from .conftest import T0, writes_nothing


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("seq").values_list("kind", flat=True))


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def frozen():
    with clock.frozen(T0) as c:
        yield c


@pytest.fixture
def reported(stakeholder, other_stakeholder, frozen):
    """Reported by Northwind while Contoso exists too: 1 of 2 organisations -> impact "few"."""
    return s.incident_report(by=stakeholder, title="Tills cannot sync", description="Since 09:00")


@pytest.fixture
def triaged(reported, member):
    return s.incident_categorize(
        by=member, incident=reported, type="functionality", severity="P3", impact="few"
    ).incident


@pytest.fixture
def resolved(triaged, member):
    return s.incident_resolve(by=member, incident=triaged, summary="Restarted the sync service.")


# -- report ------------------------------------------------------------------------------------


def test_report_records_reporter_org_policy_version_and_due_times(reported, stakeholder):
    assert reported.ref == f"INC-{reported.pk}"
    assert reported.status == "reported"
    assert reported.reporter == stakeholder
    assert reported.reporter_org.name == "Northwind"
    assert [o.name for o in reported.affected_orgs.all()] == ["Northwind"]
    assert reported.reported_at == T0
    # clocked against the assumed severity P2 until categorized
    assert reported.ack_due_at == T0 + dt.timedelta(hours=1)
    assert reported.update_due_at == T0 + dt.timedelta(hours=2)
    assert reported.resolve_due_at == T0 + dt.timedelta(days=1)
    assert reported.policy_version.active
    entry = reported.timeline.get()
    assert (entry.seq, entry.kind, entry.actor_label) == (1, "reported", "nora@northwind.test")
    assert entry.data["organisation"] == "Northwind"
    assert entry.data["policy_version"] == reported.policy_version_id


def test_team_member_reports_for_a_named_organisation(member, stakeholder):
    incident = s.incident_report(by=member, title="Outage", organisation="Northwind")
    assert incident.reporter_org.name == "Northwind"


@pytest.mark.parametrize(
    ("title", "field"),
    [("", "title"), ("   ", "title"), ("x" * 100_000, "title")],
    ids=["missing", "blank", "100KB"],
)
def test_report_refuses_bad_title(stakeholder, title, field):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_report(by=stakeholder, title=title)
    assert [e.field for e in caught.value.errors] == [field]
    assert caught.value.status_code == 422


def test_report_refuses_a_start_in_the_future(stakeholder, frozen):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_report(by=stakeholder, title="x", started_at=T0 + dt.timedelta(hours=1))
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("started_at", "The start cannot be in the future.")
    ]


def test_stakeholder_cannot_report_for_another_organisation(stakeholder, other_stakeholder):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_report(by=stakeholder, title="x", organisation="Contoso")
    assert [e.field for e in caught.value.errors] == ["organisation"]


def test_report_for_an_unknown_organisation_is_refused(member):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_report(by=member, title="x", organisation="Nowhere Ltd")
    assert [e.field for e in caught.value.errors] == ["organisation"]


def test_report_collects_every_error_at_once(stakeholder, other_stakeholder, frozen):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_report(
            by=stakeholder,
            title="",
            description="d" * 20_001,
            started_at=T0 + dt.timedelta(days=1),
            organisation="Contoso",
        )
    assert [e.field for e in caught.value.errors] == [
        "title",
        "description",
        "started_at",
        "organisation",
    ]


# -- acknowledge -------------------------------------------------------------------------------


def test_acknowledge_assigns_the_acknowledger(reported, member, frozen):
    frozen.advance(minutes=10)
    incident = s.incident_acknowledge(by=member, incident=reported)
    assert incident.acknowledged_at == T0 + dt.timedelta(minutes=10)
    assert incident.assignee == member
    entry = incident.timeline.get(kind="acknowledged")
    assert entry.data == {"late": False, "assignee": member.email}


def test_late_acknowledgement_is_recorded_as_late(reported, member, frozen):
    frozen.advance(hours=2)
    s.incident_acknowledge(by=member, incident=reported.ref)
    assert reported.timeline.get(kind="acknowledged").data["late"] is True


def test_acknowledge_keeps_an_existing_assignee(reported, manager, member, member2):
    roles.incident_assign(by=manager, incident=reported, assignee=member2.email)
    incident = s.incident_acknowledge(by=member, incident=reported)
    assert incident.assignee == member2
    assert "assignee" not in incident.timeline.get(kind="acknowledged").data


def test_acknowledge_twice_is_a_conflict(reported, member):
    s.incident_acknowledge(by=member, incident=reported)
    with writes_nothing(), pytest.raises(Conflict):
        s.incident_acknowledge(by=member, incident=reported)


def test_stakeholder_cannot_acknowledge(reported, stakeholder):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_acknowledge(by=stakeholder, incident=reported)


def test_unknown_incident_is_not_found(member):
    with writes_nothing(), pytest.raises(NotFound):
        s.incident_acknowledge(by=member, incident="INC-999")


# -- categorize --------------------------------------------------------------------------------


def test_categorize_follows_the_matrix_and_triages(reported, member, frozen):
    frozen.advance(minutes=20)
    result = s.incident_categorize(
        by=member, incident=reported, type="functionality", severity="P3", impact="few"
    )
    incident = result.incident
    assert (result.suggested_severity, result.suggested_impact, result.overridden) == (
        "P3",
        "few",
        False,
    )
    assert (incident.status, incident.type, incident.severity, incident.impact) == (
        "triaged",
        "functionality",
        "P3",
        "few",
    )
    assert incident.triaged_at == incident.acknowledged_at == T0 + dt.timedelta(minutes=20)
    assert incident.private is False
    # P3 targets replace the assumed P2 ones
    assert incident.ack_due_at == T0 + dt.timedelta(hours=4)
    assert incident.resolve_due_at == T0 + dt.timedelta(days=5)
    assert kinds(incident) == ["reported", "acknowledged", "categorized"]


def test_categorize_suggests_p1_for_security_with_all_stakeholders(reported, member):
    result = s.incident_categorize(
        by=member, incident=reported, type="security", severity="P1", impact="all", reason="all"
    )
    assert result.suggested_severity == "P1"


def test_overriding_the_matrix_needs_a_reason(reported, member):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P1", impact="few"
        )
    assert caught.value.status_code == 422
    assert caught.value.errors[0].field == "reason"
    assert "the policy suggests P3 for Functionality with impact 1 to 2 stakeholders" in (
        caught.value.errors[0].message
    )
    result = s.incident_categorize(
        by=member,
        incident=reported,
        type="functionality",
        severity="P1",
        impact="few",
        reason="Payments are down",
    )
    assert result.overridden is True
    assert result.incident.timeline.get(kind="categorized").data["reason"] == "Payments are down"


def test_overriding_the_suggested_impact_needs_a_reason(reported, member):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_categorize(
            by=member, incident=reported, type="functionality", severity="P2", impact="some"
        )
    assert "the affected organisations suggest impact 1 to 2 stakeholders" in (
        caught.value.errors[0].message
    )


def test_unknown_keys_are_each_named(reported, member):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_categorize(
            by=member, incident=reported, type="cosmic", severity="P9", impact="none"
        )
    assert [e.field for e in caught.value.errors] == ["type", "severity", "impact"]


def test_security_makes_the_incident_private_and_follows_the_p1_guideline(reported, member):
    incident = s.incident_categorize(
        by=member, incident=reported, type="security", severity="P1", impact="few", reason="r"
    ).incident
    assert incident.private is True
    titles = list(incident.tasks.values_list("title", flat=True))
    assert titles[0] == "Page the security lead and the Incident Management Team Manager"
    assert len(titles) == 6
    assert set(incident.tasks.values_list("guideline", flat=True)) == {"security/P1"}


def test_guideline_without_severity_applies_to_other_severities(reported, member):
    incident = s.incident_categorize(
        by=member, incident=reported, type="security", severity="P2", impact="few"
    ).incident
    assert incident.tasks.values_list("position", "title").first() == (
        1,
        "Contain: revoke exposed credentials and isolate affected systems",
    )
    assert set(incident.tasks.values_list("guideline", flat=True)) == {"security/any"}


def test_recategorizing_records_the_severity_change_and_keeps_tasks(triaged, member):
    before = list(triaged.tasks.values_list("title", flat=True))
    incident = s.incident_categorize(
        by=member,
        incident=triaged,
        type="functionality",
        severity="P2",
        impact="few",
        reason="More tills affected",
    ).incident
    assert kinds(incident)[-2:] == ["categorized", "severity_changed"]
    change = incident.timeline.get(kind="severity_changed").data
    assert (change["from"], change["to"]) == ("P3", "P2")
    assert list(incident.tasks.values_list("title", flat=True)) == before
    assert incident.status == "triaged"


@pytest.mark.parametrize("severity", ["P3", "P1"], ids=["as suggested", "overridden"])
def test_finished_incidents_are_not_categorized(resolved, member, severity):
    with writes_nothing(), pytest.raises(Conflict) as caught:
        s.incident_categorize(
            by=member, incident=resolved, type="functionality", severity=severity, impact="few"
        )
    assert caught.value.detail == f"{resolved.ref} is resolved: reopen it to categorize it again."


def test_stakeholder_cannot_categorize(reported, stakeholder):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_categorize(
            by=stakeholder, incident=reported, type="functionality", severity="P3", impact="few"
        )


# -- assign ------------------------------------------------------------------------------------


def test_member_may_assign_themself(reported, member):
    incident = roles.incident_assign(by=member, incident=reported, assignee=member.email)
    assert incident.assignee == member
    assert incident.timeline.get(kind="assigned").data == {"from": None, "to": member.email}


def test_member_may_not_assign_someone_else(reported, member, member2):
    with writes_nothing(), pytest.raises(PermissionDenied):
        roles.incident_assign(by=member, incident=reported, assignee=member2.email)
    with writes_nothing(), pytest.raises(PermissionDenied):
        roles.incident_assign(by=member, incident=reported, assignee=None)


def test_manager_assigns_any_team_member_and_unassigns(reported, manager, member2):
    incident = roles.incident_assign(by=manager, incident=reported, assignee=member2.email)
    assert incident.assignee == member2
    incident = roles.incident_assign(by=manager, incident=reported, assignee=None)
    assert incident.assignee is None
    assert incident.timeline.filter(kind="assigned").last().data == {
        "from": member2.email,
        "to": None,
    }


def test_only_team_members_are_assignees(reported, manager, stakeholder):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        roles.incident_assign(by=manager, incident=reported, assignee=stakeholder.email)
    assert caught.value.errors[0].field == "assignee"
    with writes_nothing(), pytest.raises(InvalidInput):
        roles.incident_assign(by=manager, incident=reported, assignee="nobody@nowhere.test")


@pytest.mark.parametrize("whom", ["self", "member", "nobody"])
def test_stakeholder_never_assigns(reported, stakeholder, member, whom):
    assignee = {"self": stakeholder.email, "member": member.email, "nobody": "x@y.test"}[whom]
    # a 403 whatever the address, so that addresses of the team cannot be probed
    with writes_nothing(), pytest.raises(PermissionDenied):
        roles.incident_assign(by=stakeholder, incident=reported, assignee=assignee)


# -- status, note, updates ------------------------------------------------------------------


def test_set_status_moves_between_working_statuses(triaged, member):
    incident = s.incident_set_status(by=member, incident=triaged, status="identified")
    assert incident.status == "identified"
    assert incident.timeline.get(kind="status_changed").data == {
        "from": "triaged",
        "to": "identified",
    }


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("resolved", "Use the resolve action to make an incident resolved."),
        ("closed", "Use the close action to make an incident closed."),
        ("bogus", "Status is one of: identified, investigating, monitoring."),
    ],
)
def test_set_status_refuses_statuses_with_their_own_action(triaged, member, status, message):
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_set_status(by=member, incident=triaged, status=status)
    assert caught.value.errors[0].message == message


def test_set_status_from_reported_is_a_conflict(reported, member):
    with writes_nothing(), pytest.raises(Conflict) as caught:
        s.incident_set_status(by=member, incident=reported, status="investigating")
    assert "allowed from reported: rejected, triaged" in caught.value.detail


def test_note_is_an_internal_timeline_entry(reported, member):
    entry = s.incident_add_note(by=member, incident=reported, body="Checking the sync logs")
    assert (entry.kind, entry.data) == ("note", {"body": "Checking the sync logs"})
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_add_note(by=member, incident=reported, body="  ")


def test_stakeholder_cannot_write_internal_notes(reported, stakeholder):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_add_note(by=stakeholder, incident=reported, body="hello")


def test_post_update_sets_first_update_and_recomputes_the_cadence(triaged, member, frozen):
    assert triaged.update_due_at == T0 + dt.timedelta(days=1)  # P3 first update
    frozen.advance(hours=1)
    update = s.incident_post_update(
        by=member, incident=triaged, status="investigating", body="We are looking into it."
    )
    incident = fresh(triaged)
    assert incident.first_update_at == incident.last_update_at == T0 + dt.timedelta(hours=1)
    assert incident.update_due_at == T0 + dt.timedelta(hours=1) + dt.timedelta(days=2)
    assert update.seq == incident.timeline.get(kind="public_update").seq
    frozen.advance(hours=1)
    s.incident_post_update(by=member, incident=triaged, status="identified", body="Found it.")
    incident = fresh(triaged)
    assert incident.first_update_at == T0 + dt.timedelta(hours=1)
    assert incident.last_update_at == T0 + dt.timedelta(hours=2)
    assert incident.update_due_at == T0 + dt.timedelta(hours=2) + dt.timedelta(days=2)


def test_resolution_is_announced_only_once_resolved(triaged, member):
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_post_update(by=member, incident=triaged, status="resolved", body="Fixed.")
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_post_update(by=member, incident=triaged, status="panicking", body="x")


def test_stakeholder_cannot_post_updates(triaged, stakeholder):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_post_update(by=stakeholder, incident=triaged, status="investigating", body="x")


# -- requests for information ----------------------------------------------------------------


def test_question_and_answer(reported, member, stakeholder_same_org):
    question = s.incident_request_info(
        by=member, incident=reported, question="Which stores are affected?"
    )
    answered = s.incident_provide_info(
        by=stakeholder_same_org, incident=reported, answer="Stores 4 and 7."
    )
    assert answered.pk == question.pk
    assert answered.answer == "Stores 4 and 7."
    assert answered.answered_by == stakeholder_same_org
    assert kinds(reported)[-2:] == ["info_requested", "info_provided"]
    assert fresh(reported).timeline.get(kind="info_provided").data == {
        "request": question.pk,
        "answer": "Stores 4 and 7.",
    }


def test_answer_without_open_question_is_a_conflict(reported, stakeholder):
    with writes_nothing(), pytest.raises(Conflict):
        s.incident_provide_info(by=stakeholder, incident=reported, answer="x")


def test_another_organisation_cannot_answer(reported, member, other_stakeholder):
    s.incident_request_info(by=member, incident=reported, question="Which stores?")
    with writes_nothing(), pytest.raises(NotFound):
        s.incident_provide_info(by=other_stakeholder, incident=reported, answer="None of ours")


def test_stakeholder_cannot_ask(reported, stakeholder):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_request_info(by=stakeholder, incident=reported, question="?")


def test_no_questions_on_finished_incidents(resolved, member):
    with writes_nothing(), pytest.raises(Conflict):
        s.incident_request_info(by=member, incident=resolved, question="More?")


# -- tasks -----------------------------------------------------------------------------------


def test_task_done_and_skipped_with_reason(triaged, member, frozen):
    first, second = triaged.tasks.order_by("position")[:2]
    frozen.advance(minutes=5)
    done = s.incident_task_update(by=member, incident=triaged, task_id=first.pk, state="done")
    assert (done.state, done.done_by, done.done_at) == (
        "done",
        member,
        T0 + dt.timedelta(minutes=5),
    )
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_task_update(by=member, incident=triaged, task_id=second.pk, state="skipped")
    assert caught.value.errors[0].field == "reason"
    skipped = s.incident_task_update(
        by=member, incident=triaged, task_id=second.pk, state="skipped", reason="No change made"
    )
    assert (skipped.state, skipped.reason) == ("skipped", "No change made")
    entries = triaged.timeline.filter(kind="task_updated").order_by("seq")
    assert [(e.data["title"], e.data["to"]) for e in entries] == [
        ("Reproduce the problem", "done"),
        ("Identify the change or component at fault", "skipped"),
    ]


def test_task_of_another_incident_is_not_found(triaged, reported, member, stakeholder):
    other = s.incident_report(by=stakeholder, title="Second")
    task = triaged.tasks.first()
    with writes_nothing(), pytest.raises(NotFound):
        s.incident_task_update(by=member, incident=other, task_id=task.pk, state="done")
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_task_update(by=member, incident=triaged, task_id=task.pk, state="finished")


def test_stakeholder_cannot_update_tasks(triaged, stakeholder):
    task = triaged.tasks.first()
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_task_update(by=stakeholder, incident=triaged, task_id=task.pk, state="done")


# -- resolve, close, reject, reopen ------------------------------------------------------------


def test_resolve_needs_a_summary_and_lists_open_tasks(triaged, member, frozen):
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_resolve(by=member, incident=triaged, summary="")
    frozen.advance(hours=3)
    incident = s.incident_resolve(by=member, incident=triaged, summary="Restarted sync.")
    assert incident.status == "resolved"
    assert incident.resolved_at == T0 + dt.timedelta(hours=3)
    assert incident.resolution_summary == "Restarted sync."
    assert incident.update_due_at is None
    data = incident.timeline.get(kind="resolved").data
    assert data["from"] == "triaged"
    assert data["late"] is False
    assert len(data["open_tasks"]) == 4


def test_member_cannot_close_manager_can(resolved, member, manager, frozen):
    with writes_nothing(), pytest.raises(PermissionDenied):
        s.incident_close(by=member, incident=resolved)
    frozen.advance(hours=1)
    incident = s.incident_close(by=manager, incident=resolved)
    assert (incident.status, incident.closed_at) == ("closed", T0 + dt.timedelta(hours=1))
    assert kinds(incident)[-1] == "closed"


def test_close_before_resolving_is_a_conflict(triaged, manager):
    with writes_nothing(), pytest.raises(Conflict) as caught:
        s.incident_close(by=manager, incident=triaged)
    assert "allowed from triaged" in caught.value.detail


def test_close_checks_of_other_parts_can_refuse(resolved, manager):
    def not_approved(sender, incident, **kwargs):
        return "The post-incident review is not approved."

    s.close_requested.connect(not_approved)
    try:
        with writes_nothing(), pytest.raises(Conflict) as caught:
            s.incident_close(by=manager, incident=resolved)
    finally:
        s.close_requested.disconnect(not_approved)
    assert caught.value.detail == "The post-incident review is not approved."


def test_reject_as_duplicate(reported, member, stakeholder):
    original = s.incident_report(by=stakeholder, title="Tills down")
    incident = s.incident_reject(
        by=member, incident=reported, reason="Same outage", duplicate_of=original.ref
    )
    assert (incident.status, incident.duplicate_of, incident.rejection_reason) == (
        "rejected",
        original,
        "Same outage",
    )
    assert incident.rejected_at is not None
    assert incident.timeline.get(kind="rejected").data == {
        "from": "reported",
        "reason": "Same outage",
        "duplicate_of": original.ref,
    }


@pytest.mark.parametrize("target", ["self", "INC-999", ""])
def test_reject_refuses_bad_duplicates_and_missing_reason(reported, member, target):
    duplicate_of = reported.ref if target == "self" else target
    reason = "" if target == "" else "dup"
    with writes_nothing(), pytest.raises(InvalidInput) as caught:
        s.incident_reject(by=member, incident=reported, reason=reason, duplicate_of=duplicate_of)
    assert caught.value.errors[0].field == ("reason" if target == "" else "duplicate_of")


def test_reopen_resolved_goes_back_to_investigating(resolved, member):
    incident = s.incident_reopen(by=member, incident=resolved, reason="It failed again")
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    assert incident.update_due_at is not None
    assert incident.timeline.get(kind="reopened").data == {
        "from": "resolved",
        "to": "investigating",
        "reason": "It failed again",
    }


def test_reopen_rejected_uncategorized_goes_back_to_reported(reported, member):
    s.incident_reject(by=member, incident=reported, reason="Not ours")
    incident = s.incident_reopen(by=member, incident=reported, reason="It is ours")
    assert (incident.status, incident.rejected_at, incident.rejection_reason) == (
        "reported",
        None,
        "Not ours",
    )


def test_reopen_open_incident_is_a_conflict_and_needs_a_reason(triaged, resolved, member):
    s.incident_reopen(by=member, incident=resolved, reason="again")
    with writes_nothing(), pytest.raises(Conflict):
        s.incident_reopen(by=member, incident=resolved, reason="again")
    with writes_nothing(), pytest.raises(InvalidInput):
        s.incident_reopen(by=member, incident=resolved, reason=" ")


def test_stakeholder_cannot_resolve_reject_or_reopen(triaged, resolved, stakeholder):
    with writes_nothing():
        for call in (
            lambda: s.incident_resolve(by=stakeholder, incident=triaged, summary="x"),
            lambda: s.incident_reject(by=stakeholder, incident=triaged, reason="x"),
            lambda: s.incident_reopen(by=stakeholder, incident=resolved, reason="x"),
            lambda: s.incident_close(by=stakeholder, incident=resolved),
        ):
            with pytest.raises(PermissionDenied):
                call()


# -- optimistic concurrency ------------------------------------------------------------------

STALE_CALLS = {
    "acknowledge": lambda by, ref, v: s.incident_acknowledge(
        by=by, incident=ref, expected_version=v
    ),
    "categorize": lambda by, ref, v: s.incident_categorize(
        by=by,
        incident=ref,
        type="functionality",
        severity="P3",
        impact="few",
        expected_version=v,
    ),
    "assign": lambda by, ref, v: roles.incident_assign(
        by=by, incident=ref, assignee=by.email, expected_version=v
    ),
    "note": lambda by, ref, v: s.incident_add_note(
        by=by, incident=ref, body="x", expected_version=v
    ),
    "request_info": lambda by, ref, v: s.incident_request_info(
        by=by, incident=ref, question="?", expected_version=v
    ),
    "reject": lambda by, ref, v: s.incident_reject(
        by=by, incident=ref, reason="x", expected_version=v
    ),
}


@pytest.mark.parametrize("action", sorted(STALE_CALLS))
def test_stale_expected_version_is_a_conflict(reported, manager, action):
    seen = reported.version
    s.incident_add_note(by=manager, incident=reported, body="someone else acted")
    with writes_nothing(), pytest.raises(Conflict) as caught:
        STALE_CALLS[action](manager, reported.ref, seen)
    assert "was changed by someone else" in caught.value.detail
    STALE_CALLS[action](manager, reported.ref, seen + 1)


def test_versions_bump_once_per_entry(reported, member):
    assert reported.version == 1
    incident = s.incident_categorize(
        by=member, incident=reported, type="functionality", severity="P3", impact="few"
    ).incident
    assert incident.version == 3  # acknowledged + categorized
    assert fresh(incident).version == incident.version == incident.timeline_seq
    assert TimelineEntry.objects.filter(incident=incident).count() == 3
    assert Task.objects.filter(incident=incident).count() == 4
