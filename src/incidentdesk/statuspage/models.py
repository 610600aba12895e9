"""The public status page: components, what incidents and maintenance did to them, who
subscribes. Only `statuspage.services` writes these."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidentdesk.incidents.models import Incident


class ComponentStatus(models.TextChoices):
    """Atlassian Statuspage's five component statuses, in order of severity."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# how bad a status is, for "the worst status of ..." (maintenance is planned, not an outage)
STATUS_RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst(statuses: list[str]) -> str:
    if not statuses:
        return ComponentStatus.OPERATIONAL
    return max(statuses, key=lambda s: STATUS_RANK[ComponentStatus(s)])


class ComponentGroup(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    # set by hand: the status no longer follows the component's open incidents
    manual = models.BooleanField(default=False)
    showcase = models.BooleanField(default=True)
    start_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ComponentStatusChange(models.Model):
    """One change of a component's status: the source of the uptime history."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="changes")
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["component", "at", "id"]
        indexes = [models.Index(fields=["component", "at"], name="sp_change_component_at")]


class IncidentComponent(models.Model):
    """An incident affects a component, putting it in `status` while the incident is open."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="status_components"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="incidents")
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.MAJOR_OUTAGE
    )

    class Meta:
        ordering = ["incident", "component__position", "component__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "component"], name="sp_incident_component")
        ]


class Publication(models.Model):
    """An incident shown on the public page. A private incident (Security ones are) appears
    only through a summary a manager wrote for the public: then `summary_only` is set and
    nothing but `public_title` and `public_body` is ever shown."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="publication")
    public_title = models.CharField(max_length=200)
    public_body = models.TextField(blank=True)
    summary_only = models.BooleanField(default=False)
    # the public status of a summary-only publication, chosen by the manager who wrote it
    summary_status = models.CharField(max_length=20, blank=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    postmortem_body = models.TextField(blank=True)
    postmortem_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["-published_at"], name="sp_publication_at")]


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class Maintenance(models.Model):
    """A scheduled maintenance window (the policy's Maintenance type)."""

    name = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    components = models.ManyToManyField(Component, blank=True, related_name="maintenances")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="maintenances"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_for", "id"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="sp_maintenance_status_for"),
            models.Index(fields=["status", "scheduled_until"], name="sp_maintenance_status_until"),
        ]


class MaintenanceUpdate(models.Model):
    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=12, choices=MaintenanceStatus.choices)
    body = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["maintenance", "at", "id"]


class SubscriberKind(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class Subscriber(models.Model):
    """Someone who asked to hear of the page's incidents and maintenance. An e-mail address is
    used only once confirmed (double opt-in). `token` is stored as its SHA-256."""

    kind = models.CharField(max_length=8, choices=SubscriberKind.choices)
    address = models.CharField(max_length=500)
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # a webhook's signing secret ("whsec_<base64>", encrypted), sent to its URL to confirm it
    secret_encrypted = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "address"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "address"], name="sp_subscriber_address")
        ]


class SubscriptionRequest(models.Model):
    """One ask to subscribe (or to change a subscription): nothing of it applies until the
    link sent to the address is followed. Its `handle` (stored as SHA-256) is the asker's:
    once confirmed it names the subscription (unsubscribes a webhook, `/api/v2/subscribers/
    {id}.json`). The rows also count asks per client and hour."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="requests")
    handle_digest = models.CharField(max_length=64, unique=True)
    components = models.JSONField(default=list, blank=True)
    secret_encrypted = models.TextField(blank=True)
    # SHA-256 of the asking client's IP address
    client = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    confirmation_sent = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "created_at"], name="sp_subreq_client")]


class PageState(models.Model):
    """One row: bumped whenever anything the public page shows changes. Its version names
    every cached response (ETag) and its time is their Last-Modified."""

    version = models.PositiveBigIntegerField(default=1)
    # random per change: two databases (or a restored backup) never share a version's name
    token = models.CharField(max_length=16, default="")
    changed_at = models.DateTimeField()
