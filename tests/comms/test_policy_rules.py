"""The policy's notifications section: validated with located errors; the shipped templates."""

from __future__ import annotations

import subprocess
import sys

import pytest

from incidentdesk.comms import messages
from incidentdesk.policy import loader
from incidentdesk.policy.schema import MESSAGE_TEMPLATES, NOTIFICATION_TRIGGERS

RULE = """
[[notifications]]
trigger = "{trigger}"
audiences = {audiences}
channels = {channels}
template = "{template}"
{extra}
"""


def _with_rule(
    trigger="resolved", audiences='["team"]', channels='["email"]', template="resolved", extra=""
):
    text = loader.DEFAULT_POLICY_PATH.read_text()
    return text + RULE.format(
        trigger=trigger, audiences=audiences, channels=channels, template=template, extra=extra
    )


def _problems(text: str) -> list[str]:
    with pytest.raises(loader.PolicyInvalid) as exc:
        loader.parse(text)
    return [str(p) for p in exc.value.problems]


def test_default_policy_has_a_rule_for_steps_3_and_5():
    policy = loader.parse(loader.DEFAULT_POLICY_PATH.read_text())
    assert {r.trigger for r in policy.notifications} == set(NOTIFICATION_TRIGGERS)
    assert [r.audiences for r in policy.notification_rules("reported", None)] == [["manager"]]
    assert any("stakeholders" in r.audiences for r in policy.notification_rules("resolved", "P3"))
    assert not any(
        "stakeholders" in r.audiences for r in policy.notification_rules("categorized", "P3")
    )


def test_unknown_trigger_audience_channel_template_and_severity_are_located():
    n = len(loader.parse(loader.DEFAULT_POLICY_PATH.read_text()).notifications)
    assert any(
        p.startswith(f"notifications.{n}.trigger:") for p in _problems(_with_rule(trigger="note"))
    )
    assert any(
        p.startswith(f"notifications.{n}.audiences.0:")
        for p in _problems(_with_rule(audiences='["everyone"]'))
    )
    assert any(
        p.startswith(f"notifications.{n}.channels.0:")
        for p in _problems(_with_rule(channels='["sms"]'))
    )
    assert _problems(_with_rule(template="nope")) == [
        f'notifications.{n}.template: unknown template "nope" (known: {", ".join(MESSAGE_TEMPLATES)})'
    ]
    assert _problems(_with_rule(extra='severities = ["P9"]')) == [
        f'notifications.{n}.severities.0: unknown severity "P9" (known: P1, P2, P3)'
    ]


def test_policy_check_command_reports_the_location(tmp_path):
    bad = tmp_path / "policy.toml"
    bad.write_text(_with_rule(template="nope"))
    done = subprocess.run(
        [sys.executable, "-m", "incidentdesk.cli", "policy", "check", str(bad)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "INCIDENTDESK_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode != 0
    assert 'template: unknown template "nope"' in done.stderr


@pytest.mark.parametrize("name", MESSAGE_TEMPLATES)
def test_every_template_exists_and_renders_a_subject_and_body(name):
    context = {
        "org": {"name": "Spacewise", "team": "Incident Management Team"},
        "incident": {"ref": "INC-7", "title": "Tills down", "severity_label": "P1 High"},
        "entry": {"kind": name, "actor": "alex@spacewise.test", "data": {"target": "update"}},
        "update": {"status": "identified", "body": "Found."},
        "recipient": {"name": "Nora"},
    }
    subject, body = messages.render(name, context)
    assert subject and "\n" not in subject
    assert "INC-7" in body
