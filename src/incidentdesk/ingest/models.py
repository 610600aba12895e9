"""Integrations (one per monitoring source) and the alerts they send."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidentdesk.incidents.models import Incident

NAME_MAX = 100
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024


class Integration(models.Model):
    """A monitoring source. Its routing key is shown once; only its SHA-256 is stored.

    Alerts open incidents as the integration's own account (`actor`), which no one can log
    in as, so the timeline says which source reported what."""

    name = models.CharField(max_length=NAME_MAX, unique=True)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    component = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=40, blank=True)
    auto_resolve = models.BooleanField(default=False)
    actor = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AlertStatus(models.TextChoices):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(models.Model):
    """One alert of a source, by its dedup key, on the incident it opened or joined.

    A repeat of a triggered alert counts here (`count`, `last_seen_at`) rather than on the
    timeline, so a flapping check does not bury the incident's record."""

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="alerts")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="alerts")
    dedup_key = models.CharField(max_length=DEDUP_KEY_MAX)
    # SHA-256 of the sender's group (Alertmanager's groupKey): alerts of one group share
    # their incident while it is open
    group_key = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=SUMMARY_MAX)
    source = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=20, blank=True)
    status = models.CharField(
        max_length=20, choices=AlertStatus.choices, default=AlertStatus.TRIGGERED
    )
    opened_incident = models.BooleanField(default=False)
    count = models.PositiveIntegerField(default=1)
    details = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["integration", "dedup_key"], name="alert_integration_key"),
            models.Index(fields=["integration", "group_key"], name="alert_integration_group"),
            models.Index(
                fields=["integration", "opened_incident", "first_seen_at"],
                name="alert_integration_opened",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.integration.name}: {self.summary}"


class Schedule(models.Model):
    """Who is on call, in one time zone: layers of rotations, and overrides on top."""

    name = models.CharField(max_length=NAME_MAX, unique=True)
    time_zone = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rotation(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"


class Layer(models.Model):
    """A rotation through its members, handing off daily or weekly at a local time; a
    higher `position` decides over lower ones wherever it covers."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=NAME_MAX)
    rotation = models.CharField(max_length=10, choices=Rotation.choices)
    handoff_time = models.TimeField()
    starts_on = models.DateField()
    covers_from = models.TimeField(null=True, blank=True)
    covers_until = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "position"], name="layer_position")
        ]

    def __str__(self) -> str:
        return f"{self.schedule.name}: {self.name}"


class LayerMember(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["layer", "position"]


class Override(models.Model):
    """ "I take Saturday": one person on call for a span, over every layer."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="oncall_overrides"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["schedule", "starts_at"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_schedule_end")]


class Escalation(models.Model):
    """An incident's paging, level by level, until someone acknowledges it.

    `due_at` is the next moment there is something to do (page a level, page again); the
    escalation check reads only the rows whose moment has come, through its index. `level`
    and `round` count what has been paged: level 0 of round 0 is "nothing yet"."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    source = models.CharField(max_length=20)
    policy = models.CharField(max_length=100, blank=True)
    level = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    paged_at = models.DateTimeField(null=True, blank=True)
    # an acknowledged incident breached this SLA target: its assignee is paged again
    renotify = models.CharField(max_length=20, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.incident.ref}: level {self.level}"


class AckLink(models.Model):
    """A page's one-click acknowledge link: single use and expiring. The link carries a
    signature of this row's id (comms.ack_links.ack_token), so no secret is stored."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
