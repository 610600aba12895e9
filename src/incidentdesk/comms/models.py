"""Deliveries (one message to one recipient on one channel), the channels admins configure,
people's preferences and stakeholders' unsubscriptions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidentdesk.incidents.models import Incident


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"
    APPRISE = "apprise", "Chat or push (Apprise)"


class DeliveryState(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    # queued at the source of a restore: kept until an operator releases it
    HELD = "held"


class Channel(models.Model):
    """A shared destination (a team chat, a stakeholder's webhook) for some audiences."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(
        max_length=10, choices=[c for c in ChannelKind.choices if c[0] != ChannelKind.EMAIL]
    )
    url_encrypted = models.TextField()
    url_hint = models.CharField(max_length=200)
    secret_encrypted = models.TextField(blank=True)
    audiences = models.JSONField(default=list)
    template = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One message to one recipient on one channel. `key` makes queueing idempotent; the
    row, not the task queue, is the truth about whether it was sent."""

    key = models.CharField(max_length=200, unique=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=ChannelKind.choices)
    channel_config = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    # what people see; for URLs with tokens only a redacted hint
    recipient = models.CharField(max_length=300, blank=True)
    address_encrypted = models.TextField(blank=True)
    trigger = models.CharField(max_length=40, blank=True)
    audience = models.CharField(max_length=20, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body_markdown = models.TextField(blank=True)
    template = models.CharField(max_length=60, blank=True)
    context = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(null=True, blank=True)
    secret_encrypted = models.TextField(blank=True)

    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["incident", "-id"], name="delivery_incident_id"),
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient} ({self.state})"


class Preference(models.Model):
    """What reaches one person: the (trigger, channel) pairs they muted, and their own
    Apprise URL for chat or push messages."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comms_preference"
    )
    muted = models.JSONField(default=list)
    apprise_url_encrypted = models.TextField(blank=True)
    apprise_url_hint = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField()


class Unsubscribe(models.Model):
    """A stakeholder address that asked, by the signed link in a mail, to hear no more."""

    email = models.EmailField(unique=True)
    at = models.DateTimeField()
