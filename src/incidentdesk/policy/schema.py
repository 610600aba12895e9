"""The policy file's schema. `Policy` is immutable once validated."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)
from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
KEY = r"^[a-z][a-z0-9_]*$"


def parse_duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    text = value.strip() if isinstance(value, str) else None
    match = _DURATION.match(text) if text else None
    if not match or not any(match.groups()):
        raise PydanticCustomError(
            "duration", 'expected a duration like "4h", got {got}', {"got": _show(value)}
        )
    days, hours, minutes = (int(g or 0) for g in match.groups())
    delta = dt.timedelta(days=days, hours=hours, minutes=minutes)
    if delta <= dt.timedelta(0):
        raise PydanticCustomError("duration", "a duration must be longer than zero", {})
    return delta


def format_duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


def duration_in_words(delta: dt.timedelta) -> str:
    """5 minutes, 1 hour 30 minutes, 2 days: a duration as people write it."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "no time"


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


Duration = Annotated[
    dt.timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Strict):
    name: str = Field(min_length=1, max_length=100)
    team: str = "Incident Management Team"


class Intake(_Strict):
    assumed_severity: str = "P2"
    triage: Duration = dt.timedelta(hours=1)
    due_soon_fraction: float = Field(default=0.25, gt=0, lt=1)


class SlaOverride(_Strict):
    """Targets that differ for one type, whatever the severity; the others stay the
    severity's."""

    acknowledge: Duration | None = None
    first_update: Duration | None = None
    update_every: Duration | None = None
    resolve: Duration | None = None


class IncidentType(_Strict):
    label: str = Field(min_length=1, max_length=60)
    description: str = ""
    private: bool = False
    # incidents of this type schedule maintenance windows on the status page
    maintenance_window: bool = False
    required_information: list[str] = []
    # planned work, for one, runs on its own calendar rather than the severity's
    sla: SlaOverride | None = None


class Sla(_Strict):
    acknowledge: Duration
    first_update: Duration
    update_every: Duration
    resolve: Duration


class Severity(_Strict):
    label: str = Field(min_length=1, max_length=60)
    statuspage_impact: Literal["none", "minor", "major", "critical"] = "minor"
    # publish incidents of this severity on the public status page as soon as they are
    # categorized (never private ones: those appear only through a manager's summary)
    auto_publish: bool = False
    review_required: bool = False
    review_due_business_days: int = Field(default=5, ge=1, le=60)
    sla: Sla


class ImpactLevel(_Strict):
    label: str = Field(min_length=1, max_length=60)
    min_share: float = Field(default=0.0, ge=0, le=1)
    min_orgs: int = Field(default=1, ge=0)


class Guideline(_Strict):
    type: str
    severity: str | None = None
    steps: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(min_length=1)


NotificationTrigger = Literal[
    "reported",
    "acknowledged",
    "categorized",
    "severity_changed",
    "public_update",
    "info_requested",
    "resolved",
    "reopened",
    "sla_due_soon",
    "sla_breached",
    "review_due",
]
NOTIFICATION_TRIGGERS: tuple[str, ...] = get_args(NotificationTrigger)
Audience = Literal["manager", "team", "assignee", "reporter", "stakeholders", "subscribers"]
ChannelKind = Literal["email", "webhook", "apprise"]
# The message templates shipped in comms/templates/comms/messages/<name>.md.
MESSAGE_TEMPLATES = (
    "reported",
    "acknowledged",
    "categorized",
    "stakeholder_notice",
    "severity_changed",
    "public_update",
    "info_requested",
    "resolved",
    "resolution_notice",
    "reopened",
    "reopened_notice",
    "sla_due_soon",
    "sla_breached",
    "review_due",
)


class NotificationRule(_Strict):
    """Who is told of a timeline entry of kind `trigger`, on which channels, in which words."""

    trigger: NotificationTrigger
    audiences: list[Audience] = Field(min_length=1)
    channels: list[ChannelKind] = Field(min_length=1)
    template: str = Field(pattern=KEY)
    severities: list[str] | None = None


# The severities monitoring tools send: PagerDuty's four, which Alertmanager's
# `pagerduty_configs` and Grafana's contact points send as well.
ALERT_SEVERITIES = ("critical", "error", "warning", "info")


class Ingest(_Strict):
    """Alerts from monitoring: how their severity reads in the policy's terms, and how many
    incidents one integration may open in a minute before further alerts join the newest."""

    severity: dict[str, str] = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P3"}
    incidents_per_minute: int = Field(default=5, ge=1, le=1000)

    def severity_of(self, alert_severity: str) -> str | None:
        return self.severity.get(alert_severity.strip().lower())


SEVERITY_KEY = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$"

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise PydanticCustomError(
            "clock", 'expected a time of day like "09:00", got {got}', {"got": _show(value)}
        )
    return dt.time(int(match.group(1)), int(match.group(2)))


ClockTime = Annotated[
    dt.time,
    BeforeValidator(parse_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]


class WorkingHours(_Strict):
    """When an escalation policy that waits for working hours may page: from `start` to
    `end` on `days`, local time in `time_zone`."""

    time_zone: str = "UTC"
    start: ClockTime = dt.time(9, 0)
    end: ClockTime = dt.time(17, 0)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]

    def contains(self, at: dt.datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone))
        return WEEKDAYS[local.weekday()] in self.days and self.start <= local.time() < self.end

    def next_start(self, at: dt.datetime) -> dt.datetime:
        """`at` itself when it falls in working hours, else the next moment they begin."""
        if self.contains(at):
            return at
        zone = ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        for days in range(8):
            day = local.date() + dt.timedelta(days=days)
            begin = dt.datetime.combine(day, self.start, tzinfo=zone)
            if WEEKDAYS[day.weekday()] in self.days and begin > local:
                return begin.astimezone(dt.UTC)
        return at


class EscalationLevel(_Strict):
    """Who a level pages: the person on call in a schedule, named people (e-mail addresses
    of team members), or every manager. `delay`: how long the previous level (or, for the
    first, the report) goes unacknowledged before this level is paged; none pages at once."""

    schedule: str | None = Field(default=None, min_length=1, max_length=100)
    people: list[Annotated[str, Field(min_length=3, max_length=254)]] = []
    managers: bool = False
    delay: Duration | None = None

    def targets(self) -> int:
        return sum([self.schedule is not None, bool(self.people), self.managers])


class EscalationPolicy(_Strict):
    """How an unacknowledged incident of `severities` reaches people, level by level; after
    the last level it starts again from the first, `repeats` times, `repeat_after` later."""

    name: str = Field(min_length=1, max_length=100)
    severities: list[str] = Field(min_length=1)
    # where the incident came from (`alert`, `portal`, `api`, `email`, `team`): by default
    # only monitoring's alerts page people; reports reach the team by the communication plan
    sources: list[str] = ["alert"]
    working_hours: WorkingHours | None = None
    levels: list[EscalationLevel] = Field(min_length=1, max_length=10)
    repeats: int = Field(default=0, ge=0, le=10)
    repeat_after: Duration = dt.timedelta(minutes=15)


# the roles a second factor can be required of: the team's (stakeholders use the portal)
SECOND_FACTOR_ROLES = ("admin", "manager", "member")


def _second_factor_role(value: Any) -> str:
    if value not in SECOND_FACTOR_ROLES:
        raise PydanticCustomError(
            "second_factor_role",
            "a second factor can be required of admin, manager and member (the team)",
        )
    return str(value)


class Identity(_Strict):
    """How the team signs in. `require_second_factor`: the roles that need an authenticator
    app or a passkey (or a sign-in through the identity provider) to reach anything but their
    account page; INCIDENTDESK_REQUIRE_SECOND_FACTOR=on requires it of all three as well."""

    require_second_factor: list[Annotated[str, BeforeValidator(_second_factor_role)]] = []


class Policy(_Strict):
    organisation: Organisation
    identity: Identity = Identity()
    intake: Intake = Intake()
    ingest: Ingest = Ingest()
    types: dict[Annotated[str, Field(pattern=KEY)], IncidentType] = Field(min_length=1)
    # a severity's name is stored on each incident (at most 10 characters); the order in which
    # the policy lists its severities is their order, most severe first
    severities: dict[Annotated[str, Field(pattern=SEVERITY_KEY)], Severity] = Field(min_length=1)
    impacts: dict[Annotated[str, Field(pattern=KEY)], ImpactLevel] = Field(min_length=1)
    matrix: dict[str, dict[str, str]]
    guidelines: list[Guideline] = []
    notifications: list[NotificationRule] = []
    escalation: list[EscalationPolicy] = []

    def problems(self) -> list[tuple[str, str]]:
        """Cross-references the schema cannot express, as (location, message) pairs."""
        errors: list[tuple[str, str]] = []
        if self.intake.assumed_severity not in self.severities:
            errors.append(
                (
                    "intake.assumed_severity",
                    self._unknown("severity", self.intake.assumed_severity, self.severities),
                )
            )
        for type_key in self.types:
            row = self.matrix.get(type_key)
            if row is None:
                errors.append((f"matrix.{type_key}", "missing: every type needs a row"))
                continue
            for impact_key in self.impacts:
                if impact_key not in row:
                    errors.append(
                        (
                            f"matrix.{type_key}.{impact_key}",
                            "missing: every impact level needs a severity",
                        )
                    )
        for type_key, row in self.matrix.items():
            if type_key not in self.types:
                errors.append((f"matrix.{type_key}", self._unknown("type", type_key, self.types)))
                continue
            for impact_key, severity in row.items():
                if impact_key not in self.impacts:
                    errors.append(
                        (
                            f"matrix.{type_key}.{impact_key}",
                            self._unknown("impact level", impact_key, self.impacts),
                        )
                    )
                elif severity not in self.severities:
                    errors.append(
                        (
                            f"matrix.{type_key}.{impact_key}",
                            self._unknown("severity", severity, self.severities),
                        )
                    )
        seen: set[tuple[str, str | None]] = set()
        for i, guideline in enumerate(self.guidelines):
            if guideline.type not in self.types:
                errors.append(
                    (f"guidelines.{i}.type", self._unknown("type", guideline.type, self.types))
                )
            if guideline.severity is not None and guideline.severity not in self.severities:
                errors.append(
                    (
                        f"guidelines.{i}.severity",
                        self._unknown("severity", guideline.severity, self.severities),
                    )
                )
            key = (guideline.type, guideline.severity)
            if key in seen:
                errors.append(
                    (f"guidelines.{i}", "a guideline for this type and severity is already defined")
                )
            seen.add(key)
        errors.extend(self._notification_problems())
        errors.extend(self._escalation_problems())
        for alert_severity, severity in self.ingest.severity.items():
            if severity not in self.severities:
                errors.append(
                    (
                        f"ingest.severity.{alert_severity}",
                        self._unknown("severity", severity, self.severities),
                    )
                )
        return errors

    def _notification_problems(self) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        for i, rule in enumerate(self.notifications):
            if rule.template not in MESSAGE_TEMPLATES:
                errors.append(
                    (
                        f"notifications.{i}.template",
                        f'unknown template "{rule.template}" (known: {", ".join(MESSAGE_TEMPLATES)})',
                    )
                )
            for j, severity in enumerate(rule.severities or []):
                if severity not in self.severities:
                    errors.append(
                        (
                            f"notifications.{i}.severities.{j}",
                            self._unknown("severity", severity, self.severities),
                        )
                    )
        return errors

    def _escalation_problems(self) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        claimed: dict[tuple[str, str], str] = {}
        for i, rule in enumerate(self.escalation):
            for j, severity in enumerate(rule.severities):
                if severity not in self.severities:
                    errors.append(
                        (
                            f"escalation.{i}.severities.{j}",
                            self._unknown("severity", severity, self.severities),
                        )
                    )
                for source in rule.sources:
                    other = claimed.setdefault((severity, source), rule.name)
                    if other != rule.name:
                        errors.append(
                            (
                                f"escalation.{i}.severities.{j}",
                                f'{severity} ({source}) is already escalated by "{other}"',
                            )
                        )
            if rule.working_hours is not None:
                try:
                    ZoneInfo(rule.working_hours.time_zone)
                except (ZoneInfoNotFoundError, ValueError):
                    errors.append(
                        (
                            f"escalation.{i}.working_hours.time_zone",
                            f'unknown time zone "{rule.working_hours.time_zone}"',
                        )
                    )
                if rule.working_hours.start >= rule.working_hours.end:
                    errors.append((f"escalation.{i}.working_hours", "start must be before end"))
            for j, level in enumerate(rule.levels):
                if level.targets() != 1:
                    errors.append(
                        (
                            f"escalation.{i}.levels.{j}",
                            "a level pages exactly one of: schedule, people, managers",
                        )
                    )
        return errors

    def escalation_for(self, severity: str | None, source: str) -> EscalationPolicy | None:
        """The escalation policy for an incident of `severity` (the intake's assumed one
        while uncategorized) that came from `source`, if any."""
        severity = severity or self.intake.assumed_severity
        return next(
            (e for e in self.escalation if severity in e.severities and source in e.sources),
            None,
        )

    def notification_rules(self, trigger: str, severity: str | None) -> list[NotificationRule]:
        """The rules that apply to an entry of kind `trigger` on an incident of `severity`
        (an uncategorized incident counts as the intake's assumed severity)."""
        severity = severity or self.intake.assumed_severity
        return [
            rule
            for rule in self.notifications
            if rule.trigger == trigger and (rule.severities is None or severity in rule.severities)
        ]

    @staticmethod
    def _unknown(what: str, value: str, known: dict[str, Any]) -> str:
        return f'unknown {what} "{value}" (known: {", ".join(known)})'

    # -- questions the rest of the product asks --------------------------------------------

    def suggest_severity(self, type_key: str, impact_key: str) -> str:
        return self.matrix[type_key][impact_key]

    def suggest_impact(self, affected: int, total: int) -> str | None:
        """The first impact level whose thresholds `affected` of `total` organisations meet."""
        if affected <= 0 or total <= 0:
            return None
        share = affected / total
        for key, level in self.impacts.items():
            if share >= level.min_share and affected >= level.min_orgs:
                return key
        return list(self.impacts)[-1]

    def guideline_for(self, type_key: str, severity: str | None) -> Guideline | None:
        exact = None
        general = None
        for guideline in self.guidelines:
            if guideline.type != type_key:
                continue
            if guideline.severity is not None and guideline.severity == severity:
                exact = guideline
            elif guideline.severity is None:
                general = guideline
        return exact or general

    def schedules_maintenance(self, type_key: str | None) -> bool:
        """Whether incidents of this type own maintenance windows on the status page."""
        kind = self.types.get(type_key or "")
        return kind is not None and kind.maintenance_window

    def sla_for(self, severity: str | None, type_key: str | None = None) -> Sla:
        """The targets for an incident of this severity (the assumed one until categorized)
        and type: the severity's, with the type's own where it sets them."""
        sla = self.severities[severity or self.intake.assumed_severity].sla
        kind = self.types.get(type_key or "")
        if kind is None or kind.sla is None:
            return sla
        own = {name: getattr(kind.sla, name) for name in type(kind.sla).model_fields}
        return sla.model_copy(update={k: v for k, v in own.items() if v is not None})
