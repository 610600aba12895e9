from __future__ import annotations

from django.conf import settings
from django.db import models


class PolicyVersion(models.Model):
    """One distinct policy text, stored once (by content hash). Exactly one is active."""

    content_hash = models.CharField(max_length=64, unique=True)
    text = models.TextField()
    source = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_policy"
            )
        ]

    def __str__(self) -> str:
        return f"policy v{self.pk} ({self.content_hash[:12]})"
