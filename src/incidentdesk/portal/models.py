"""What the portal and the e-mail intake keep beside the incident: the reporter's details,
evidence files and who follows an incident. Only `portal.services` writes these."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidentdesk.incidents.models import Incident
from incidentdesk.statuspage.models import Component


class Source(models.TextChoices):
    PORTAL = "portal", "Portal"
    EMAIL = "email", "E-mail"
    API = "api", "API"


class ReportDetails(models.Model):
    """The reporter's answers to the report form (policy step 1: collect all information)."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="report")
    problem_type = models.CharField(max_length=40, blank=True)
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    steps = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PORTAL)

    class Meta:
        verbose_name_plural = "report details"


class Attachment(models.Model):
    """Evidence attached to an incident. The file lives under ATTACHMENTS_DIR, outside the web
    root, under a random name; `filename` is only ever sent back in Content-Disposition."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_as = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "id"]

    def __str__(self) -> str:
        return self.filename


class Follow(models.Model):
    """A person who is told about an incident's progress."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    since = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="portal_follow_unique")
        ]


class HeldState(models.TextChoices):
    HELD = "held", "Held"
    ACCEPTED = "accepted", "Accepted"
    DISCARDED = "discarded", "Discarded"


class HeldMail(models.Model):
    """A mail the intake did not attribute to anyone: its sender was not verified, is not a
    stakeholder's registered address, or the intake refused it. The team reads it and accepts
    it as the sender's report or comment, or discards it."""

    received_at = models.DateTimeField()
    envelope_from = models.CharField(max_length=320, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True)
    reason = models.CharField(max_length=500)
    # the reply-to address it came in on, which may name an incident (incidents+INC-7@...)
    rcpt_tos = models.JSONField(default=list)
    raw = models.BinaryField()
    state = models.CharField(max_length=10, choices=HeldState.choices, default=HeldState.HELD)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "-received_at"], name="portal_held_state_idx")]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"
