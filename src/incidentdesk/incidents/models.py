from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet

from incidentdesk.accounts.models import StakeholderOrg
from incidentdesk.core.models import AppendOnly
from incidentdesk.policy.models import PolicyVersion

from .lifecycle import Status

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000


class Incident(models.Model):
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_incidents",
    )
    reporter_org = models.ForeignKey(
        StakeholderOrg, null=True, blank=True, on_delete=models.PROTECT, related_name="reported"
    )
    affected_orgs = models.ManyToManyField(StakeholderOrg, blank=True, related_name="affected_by")
    type = models.CharField(max_length=40, blank=True)
    severity = models.CharField(max_length=10, blank=True)
    impact = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in Status], default=Status.REPORTED
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_incidents",
    )
    # the communications lead: writes the public updates; the assignee is the incident lead
    # (the policy's member in charge)
    comms_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comms_led_incidents",
    )
    # the title the public and the stakeholders' updates read; the status page's publication
    # takes it when the incident is published (empty: a neutral phrase)
    public_title = models.CharField(max_length=TITLE_MAX, blank=True)
    private = models.BooleanField(default=False)
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")

    started_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    first_update_at = models.DateTimeField(null=True, blank=True)
    last_update_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    ack_due_at = models.DateTimeField(null=True, blank=True)
    update_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    # when the SLA check next has something to say about this incident (a clock due soon or
    # breached): the periodic check reads only incidents due, through this index
    sla_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # the day the review-due check next looks at this finished incident (the day after its
    # review falls due), so the periodic check reads only incidents due, through this index
    review_check_on = models.DateField(null=True, blank=True, db_index=True)

    # the timeline seq of the communication plan's first delivery to the team, to the
    # stakeholders, and since the last resolution (set as the entries are appended): the
    # policy steps read these instead of searching thousands of deliveries
    team_delivery_seq = models.PositiveIntegerField(null=True, blank=True)
    stakeholder_delivery_seq = models.PositiveIntegerField(null=True, blank=True)
    resolution_delivery_seq = models.PositiveIntegerField(null=True, blank=True)

    resolution_summary = models.TextField(blank=True)
    rejection_reason = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    # the chain's head: hash and seq of the last timeline entry; `version` bumps on every
    # change a person makes so that a form posted against an older state is recognised as
    # stale (entries the system writes, such as deliveries, leave it as it is)
    timeline_seq = models.PositiveIntegerField(default=0)
    timeline_head = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="incident_status_id"),
            models.Index(fields=["reporter_org", "-id"], name="incident_org_id"),
            models.Index(fields=["assignee", "-id"], name="incident_assignee_id"),
            models.Index(fields=["comms_lead", "-id"], name="incident_comms_lead_id"),
            # the reviews still due, the longest resolved first (the manager's day)
            models.Index(fields=["status", "resolved_at"], name="incident_status_resolved"),
            # insights read a range of report times, the newest first by default
            models.Index(fields=["reported_at", "id"], name="incident_reported_at"),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.title}"

    @property
    def ref(self) -> str:
        return f"INC-{self.pk}"

    # An incident is saved after every action on it, under its row lock, and an action changes
    # a few of its thirty-odd fields: a save writes the fields that differ from what was read
    # (or last saved), not all of them. Every field holds a plain value (text, a number, a
    # time), so "differs" is a comparison; a field read later (deferred) or set counts as
    # changed.
    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> Incident:
        incident = super().from_db(db, field_names, values, **kwargs)
        incident._saved = incident._values()
        return incident

    def _values(self) -> dict[str, Any]:
        have = self.__dict__
        return {f.attname: have[f.attname] for f in self._meta.concrete_fields if f.attname in have}

    def refresh_from_db(
        self,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: QuerySet[Incident] | None = None,
    ) -> None:
        fields = None if fields is None else list(fields)
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        saved = getattr(self, "_saved", None)
        if saved is not None:  # what was read is what the database holds
            names = None if fields is None else {f.removesuffix("_id") for f in fields}
            saved.update(
                {
                    k: v
                    for k, v in self._values().items()
                    if names is None or k.removesuffix("_id") in names
                }
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        saved: dict[str, Any] | None = getattr(self, "_saved", None)
        whole = not args and kwargs.get("update_fields") is None and not kwargs.get("force_insert")
        if saved is not None and whole and not self._state.adding:
            now = self._values()
            kwargs["update_fields"] = [
                name for name, value in now.items() if name not in saved or saved[name] != value
            ]
        super().save(*args, **kwargs)
        self._saved = self._values()


class TimelineEntry(AppendOnly):
    """One documented action on an incident (policy step 6). Append-only and hash-chained."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")

    class Meta:
        ordering = ["incident", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "seq"], name="timeline_incident_seq")
        ]
        indexes = [
            models.Index(fields=["kind", "at"], name="timeline_kind_at"),
            # an incident's entries of some kinds in order, and their counts per kind, read
            # without touching its other entries (thousands of deliveries after one update)
            models.Index(fields=["incident", "kind", "seq"], name="timeline_incident_kind_seq"),
        ]
        verbose_name_plural = "timeline entries"


class TaskState(models.TextChoices):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class Task(models.Model):
    """One step of the guideline an incident follows (policy step 4)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=TaskState.choices, default=TaskState.OPEN)
    reason = models.TextField(blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    guideline = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["incident", "position"]


class InfoRequest(models.Model):
    """A question from the team to the reporter (policy step 1: collect all information)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="info_requests")
    question = models.TextField()
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    asked_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "asked_at"]


class PublicStatus(models.TextChoices):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class PublicUpdate(models.Model):
    """A stakeholder-facing message (policy steps 3 and 5). Internal notes are never these."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="public_updates")
    status = models.CharField(max_length=20, choices=PublicStatus.choices)
    body = models.TextField()
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField()
    seq = models.PositiveIntegerField()

    class Meta:
        ordering = ["incident", "posted_at"]


class SavedView(models.Model):
    """A set of queue filters a team member saved under a name, for them alone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    # the queue's query string, with only the filter parameters it knows
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_user_name")
        ]

    def __str__(self) -> str:
        return self.name
