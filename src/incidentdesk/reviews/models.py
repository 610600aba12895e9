"""Post-incident reviews, their revisions and comments, and the action items they agree."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidentdesk.incidents.models import Incident

SECTIONS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("trigger", "Trigger and contributing factors"),
    ("detection", "Detection"),
    ("response", "Response and recovery"),
    ("went_well", "What went well"),
    ("went_wrong", "What went wrong"),
    ("lucky", "Where we were lucky"),
    ("lessons", "Lessons"),
    ("public_summary", "Public summary (for the status page)"),
)
SECTION_KEYS = tuple(key for key, _ in SECTIONS)


class ReviewState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class Review(models.Model):
    """The blameless post-incident review of one incident.

    `sections` maps each key of SECTIONS to Markdown; `picks` is the list of timeline entries
    the author chose, as `{"seq": n, "note": "..."}`. Once published, every edit is kept as a
    ReviewRevision, so nothing published is ever lost.
    """

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="review")
    state = models.CharField(max_length=12, choices=ReviewState.choices, default=ReviewState.DRAFT)
    sections = models.JSONField(default=dict)
    picks = models.JSONField(default=list)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waiver_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Review of {self.incident.ref}"


class ReviewRevision(models.Model):
    """A published text of a review. Revision 1 is the first publication."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    sections = models.JSONField(default=dict)
    picks = models.JSONField(default=list)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["review", "number"]
        constraints = [
            models.UniqueConstraint(fields=["review", "number"], name="review_revision_number")
        ]


class ReviewComment(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments")
    section = models.CharField(max_length=20, blank=True)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["review", "at", "id"]


class ActionKind(models.TextChoices):
    PREVENT = "prevent", "Prevent"
    DETECT = "detect", "Detect"
    MITIGATE = "mitigate", "Mitigate"
    PROCESS = "process", "Process"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class ActionItem(models.Model):
    """An improvement agreed in a review, with an owner and a due date."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="action_items")
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=ActionKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items"
    )
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default="open")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    # the due date a reminder was last written for, so each reminder is written once
    reminded_soon_for = models.DateField(null=True, blank=True)
    reminded_overdue_for = models.DateField(null=True, blank=True)
    # the day the reminder check next has something to say about this item (due soon, then
    # overdue): the periodic check reads only items due, through this index
    remind_on = models.DateField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"], name="action_status_due")]

    def __str__(self) -> str:
        return self.title
