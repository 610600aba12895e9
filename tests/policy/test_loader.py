"""The policy file: the default parses; every mistake is reported with its location; each
distinct policy is stored once; an incident keeps the policy it was opened under."""

from __future__ import annotations

import copy
import datetime as dt
import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from django.core.management import call_command
from django.core.management.base import CommandError

from incidentdesk.core import clock
from incidentdesk.core.errors import PermissionDenied
from incidentdesk.incidents import services as s
from incidentdesk.policy import loader
from incidentdesk.policy.models import PolicyVersion
from incidentdesk.policy.selectors import active_policy
from incidentdesk.policy.services import policy_activate_text, policy_sync_from_file

from ..cli.helpers import run, sqlite_only

DEFAULT_TEXT = loader.DEFAULT_POLICY_PATH.read_text()
DEFAULT = tomllib.loads(DEFAULT_TEXT)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def edited(change) -> str:
    data = copy.deepcopy(DEFAULT)
    change(data)
    return tomlkit.dumps(data)


def problems(text: str) -> list[str]:
    with pytest.raises(loader.PolicyInvalid) as caught:
        loader.parse(text)
    return [str(p) for p in caught.value.problems]


def check(tmp_path: Path, text: str) -> tuple[str, str]:
    """`policy check FILE` in process: (stdout, stderr); raises CommandError on problems."""
    path = tmp_path / "policy.toml"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("policy", "check", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue() + f"CommandError: {exc}"
    return out.getvalue(), err.getvalue()


# -- the default ------------------------------------------------------------------------------


def test_the_default_policy_parses_as_the_written_policy():
    policy = loader.parse(DEFAULT_TEXT)
    assert list(policy.types) == ["functionality", "security", "performance", "maintenance"]
    assert [t.label for t in policy.types.values()] == [
        "Functionality",
        "Security",
        "Performance",
        "Maintenance",
    ]
    assert [k for k, t in policy.types.items() if t.private] == ["security"]
    assert {k: v.label for k, v in policy.severities.items()} == {
        "P1": "P1 High",
        "P2": "P2 Medium",
        "P3": "P3 Low",  # the written policy's "P3 (High)" is a typo
    }
    assert list(policy.impacts) == ["all", "most", "some", "few"]
    assert policy.impacts["few"].label == "1 to 2 stakeholders"
    sla = policy.severities["P1"].sla
    assert (sla.acknowledge, sla.first_update, sla.update_every, sla.resolve) == (
        dt.timedelta(minutes=15),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=1),
        dt.timedelta(hours=4),
    )
    assert policy.sla_for(None) == policy.severities["P2"].sla
    assert {k: v.review_required for k, v in policy.severities.items()} == {
        "P1": True,
        "P2": True,
        "P3": False,
    }


def test_every_type_and_impact_has_a_suggested_severity():
    policy = loader.parse(DEFAULT_TEXT)
    for type_key in policy.types:
        for impact_key in policy.impacts:
            assert policy.suggest_severity(type_key, impact_key) in policy.severities
    assert policy.suggest_severity("security", "some") == "P1"
    assert policy.suggest_severity("functionality", "few") == "P3"


@pytest.mark.parametrize(
    ("affected", "total", "impact"),
    [
        (0, 10, None),
        (1, 0, None),
        (1, 1, "all"),
        (10, 10, "all"),
        (5, 10, "most"),
        (3, 4, "most"),
        (2, 3, "few"),  # two of three: "most" by share, but "most" also needs 3 organisations
        (3, 10, "some"),
        (4, 10, "some"),
        (2, 10, "few"),
        (1, 2, "few"),
    ],
)
def test_suggested_impact_follows_the_thresholds(affected, total, impact):
    assert loader.parse(DEFAULT_TEXT).suggest_impact(affected, total) == impact


def test_a_severity_specific_guideline_is_preferred():
    policy = loader.parse(DEFAULT_TEXT)
    assert policy.guideline_for("security", "P1").severity == "P1"
    assert policy.guideline_for("security", "P2").severity is None
    assert policy.guideline_for("functionality", "P1").type == "functionality"


def test_the_default_policy_checks_clean(tmp_path):
    out, err = check(tmp_path, DEFAULT_TEXT)
    assert err == ""
    assert out.strip().endswith("OK (4 types, 3 severities, 4 impact levels, 5 guidelines)")


# -- mistakes, each with its location ----------------------------------------------------------


def _soon(d):
    d["severities"]["P2"]["sla"]["resolve"] = "soon"


def test_a_bad_duration_names_its_location():
    assert problems(edited(_soon)) == [
        'severities.P2.sla.resolve: expected a duration like "4h", got "soon"'
    ]


def test_every_schema_mistake_is_listed_at_once():
    def change(d: dict[str, Any]) -> None:
        _soon(d)
        d["severities"]["P1"]["sla"]["acknowledge"] = 15
        d["severities"]["P3"]["colour"] = "green"
        d["types"]["security"]["privat"] = True
        del d["impacts"]["few"]["label"]
        d["intake"]["due_soon_fraction"] = 2

    assert sorted(problems(edited(change))) == sorted(
        [
            'severities.P2.sla.resolve: expected a duration like "4h", got "soon"',
            'severities.P1.sla.acknowledge: expected a duration like "4h", got 15',
            "severities.P3.colour: unknown setting",
            "types.security.privat: unknown setting",
            "impacts.few.label: required setting is missing",
            "intake.due_soon_fraction: Input should be less than 1, got 2",
        ]
    )


def test_every_cross_reference_mistake_is_listed_at_once():
    def change(d: dict[str, Any]) -> None:
        del d["matrix"]["performance"]["some"]
        del d["matrix"]["maintenance"]
        d["matrix"]["security"]["all"] = "P0"
        d["guidelines"][0]["type"] = "hardware"
        d["guidelines"].append({"type": "security", "severity": "P7", "steps": ["Look"]})
        d["intake"]["assumed_severity"] = "P5"

    assert problems(edited(change)) == [
        'intake.assumed_severity: unknown severity "P5" (known: P1, P2, P3)',
        "matrix.performance.some: missing: every impact level needs a severity",
        "matrix.maintenance: missing: every type needs a row",
        'matrix.security.all: unknown severity "P0" (known: P1, P2, P3)',
        'guidelines.0.type: unknown type "hardware" '
        "(known: functionality, security, performance, maintenance)",
        'guidelines.5.severity: unknown severity "P7" (known: P1, P2, P3)',
    ]


def test_zero_duration_and_duplicate_guideline_are_refused():
    def change(d: dict[str, Any]) -> None:
        d["severities"]["P3"]["sla"]["resolve"] = "0m"

    assert problems(edited(change)) == [
        "severities.P3.sla.resolve: a duration must be longer than zero"
    ]

    def duplicate(d: dict[str, Any]) -> None:
        d["guidelines"].append(copy.deepcopy(d["guidelines"][0]))

    assert problems(edited(duplicate)) == [
        "guidelines.5: a guideline for this type and severity is already defined"
    ]


def test_broken_toml_is_one_problem():
    (problem,) = problems("[types\nlabel = 1")
    assert problem.startswith("not valid TOML: ")


def test_policy_check_prints_every_problem_and_refuses(tmp_path):
    def change(d: dict[str, Any]) -> None:
        _soon(d)
        d["severities"]["P3"]["colour"] = "green"

    out, err = check(tmp_path, edited(change))
    path = tmp_path / "policy.toml"
    assert out == ""
    assert err.splitlines() == [
        f"{path}: severities.P2.sla.resolve: " + 'expected a duration like "4h", got "soon"',
        f"{path}: severities.P3.colour: unknown setting",
        "CommandError: 2 problems found; the policy was not accepted.",
    ]


def test_policy_check_of_a_missing_file(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem found"):
        call_command("policy", "check", str(tmp_path / "nowhere.toml"), stderr=err)
    assert err.getvalue().startswith(f"{tmp_path / 'nowhere.toml'}: cannot read ")


@sqlite_only
def test_policy_check_exits_1_from_the_command_line(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(edited(_soon))
    done = run(tmp_path / "data", "policy", "check", str(path), check=False)
    assert done.returncode == 1
    assert f'{path}: severities.P2.sla.resolve: expected a duration like "4h", got "soon"' in (
        done.stderr
    )
    assert "1 problem found" in done.stderr


# -- versions ---------------------------------------------------------------------------------


def _slower(d):
    d["severities"]["P2"]["sla"]["resolve"] = "2d"


def test_each_distinct_policy_is_stored_once(manager):
    first = PolicyVersion.objects.get(active=True)
    assert first.content_hash == loader.content_hash(DEFAULT_TEXT)
    assert policy_sync_from_file() == first
    second = policy_activate_text(by=manager, text=edited(_slower), source="edited")
    again = policy_activate_text(by=manager, text=edited(_slower), source="edited again")
    assert second == again
    assert PolicyVersion.objects.count() == 2
    assert list(PolicyVersion.objects.filter(active=True)) == [second]
    back = policy_activate_text(by=manager, text=DEFAULT_TEXT, source="default")
    assert back.pk == first.pk
    assert PolicyVersion.objects.count() == 2
    assert list(PolicyVersion.objects.filter(active=True).values_list("pk", flat=True)) == [
        first.pk
    ]


def test_an_invalid_policy_is_not_stored(manager):
    with pytest.raises(loader.PolicyInvalid):
        policy_activate_text(by=manager, text=edited(_soon), source="x")
    assert PolicyVersion.objects.count() == 1


def test_only_managers_change_the_policy(member):
    with pytest.raises(PermissionDenied):
        policy_activate_text(by=member, text=edited(_slower), source="x")
    assert PolicyVersion.objects.count() == 1


def test_an_open_incident_keeps_the_policy_it_was_opened_under(manager, member):
    with clock.frozen(T0):
        old = s.incident_report(by=member, title="Before the change")
    policy_activate_text(by=manager, text=edited(_slower), source="edited")
    version, policy = active_policy()
    assert policy.severities["P2"].sla.resolve == dt.timedelta(days=2)
    with clock.frozen(T0 + dt.timedelta(minutes=10)):
        new = s.incident_report(by=member, title="After the change")
        s.incident_post_update(by=member, incident=old, status="investigating", body="On it")
        s.incident_categorize(
            by=member, incident=old, type="functionality", severity="P2", impact="few", reason="r"
        )
    old.refresh_from_db()
    assert old.policy_version_id != version.pk
    assert old.resolve_due_at == T0 + dt.timedelta(days=1)
    assert new.policy_version_id == version.pk
    assert new.resolve_due_at == T0 + dt.timedelta(minutes=10) + dt.timedelta(days=2)
    assert old.timeline.get(kind="reported").data["policy_version"] == old.policy_version_id


def test_policy_over_the_api_is_for_the_team(client, member, stakeholder, token_for):
    r = client.get("/api/v1/policy", HTTP_AUTHORIZATION=f"Bearer {token_for(member)}")
    assert r.status_code == 200
    body = r.json()
    assert body["content_hash"] == loader.content_hash(DEFAULT_TEXT)
    assert body["policy"]["severities"]["P1"]["sla"]["resolve"] == "4h"
    r = client.get("/api/v1/policy", HTTP_AUTHORIZATION=f"Bearer {token_for(stakeholder)}")
    assert r.status_code == 403


def test_a_type_may_set_its_own_sla_targets():
    from incidentdesk.policy.loader import parse

    policy = parse(DEFAULT_TEXT)
    planned = policy.sla_for("P3", "maintenance")
    p3 = policy.sla_for("P3")
    # the type's own targets replace the severity's; the others stay the severity's
    assert planned.resolve == dt.timedelta(days=30)
    assert planned.update_every == dt.timedelta(days=7)
    assert (planned.acknowledge, planned.first_update) == (p3.acknowledge, p3.first_update)
    assert policy.sla_for("P3", "functionality") == p3

    def change(d: dict[str, Any]) -> None:
        d["types"]["maintenance"]["sla"]["resolve"] = "later"
        d["types"]["maintenance"]["sla"]["deadline"] = "1d"

    assert sorted(problems(edited(change))) == [
        "types.maintenance.sla.deadline: unknown setting",
        'types.maintenance.sla.resolve: expected a duration like "4h", got "later"',
    ]


def test_escalation_mistakes_name_their_location():
    def change(p):
        p["escalation"][0]["levels"][1]["schedule"] = "Primary"
        p["escalation"][1]["severities"].append("P1")
        p["escalation"][1]["severities"].append("P9")
        p["escalation"][1]["working_hours"]["time_zone"] = "Mars/Olympus"

    assert problems(edited(change)) == [
        "escalation.0.levels.1: a level pages exactly one of: schedule, people, managers",
        'escalation.1.severities.1: P1 (alert) is already escalated by "Page now"',
        'escalation.1.severities.2: unknown severity "P9" (known: P1, P2, P3)',
        'escalation.1.working_hours.time_zone: unknown time zone "Mars/Olympus"',
    ]


def test_escalation_follows_the_severity_and_the_source():
    _, policy = active_policy()
    assert policy.escalation_for("P1", "alert").name == "Page now"
    assert policy.escalation_for("P3", "alert").name == "Working hours"
    assert policy.escalation_for(None, "alert").name == "Page now"  # assumed P2
    assert policy.escalation_for("P1", "portal") is None


# -- [identity] ---------------------------------------------------------------------------------


def test_a_second_factor_is_required_of_team_roles_only(tmp_path):
    def roles(*names: str):
        def change(d: dict[str, Any]) -> None:
            d["identity"] = {"require_second_factor": list(names)}

        return change

    policy = loader.parse(edited(roles("manager", "member")))
    assert policy.identity.require_second_factor == ["manager", "member"]
    assert loader.parse(DEFAULT_TEXT).identity.require_second_factor == []

    _, err = check(tmp_path, edited(roles("manager", "stakeholder")))
    path = tmp_path / "policy.toml"
    assert err.splitlines() == [
        f"{path}: identity.require_second_factor.1: a second factor can be required of admin,"
        " manager and member (the team), got 'stakeholder'",
        "CommandError: 1 problem found; the policy was not accepted.",
    ]

    def boolean(d: dict[str, Any]) -> None:
        d["identity"] = {"require_second_factor": True}

    assert problems(edited(boolean)) == [
        "identity.require_second_factor: Input should be a valid list, got True"
    ]
