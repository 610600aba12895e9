from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AppendOnlyQuerySet(models.QuerySet):  # type: ignore[type-arg]
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("append-only records are never updated")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise TypeError("append-only records are never deleted")


class AppendOnly(models.Model):
    """Base for hash-chained entries: saved once, never changed through the ORM."""

    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("append-only records are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("append-only records are never deleted")


class AuditEntry(AppendOnly):
    """An action outside any incident (accounts, tokens, policy, configuration)."""

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["seq"], name="audit_seq_unique")]
        verbose_name_plural = "audit entries"


class ChainHead(models.Model):
    """The last hash of a chain that has no owning row (the audit log)."""

    name = models.CharField(max_length=40, unique=True)
    seq = models.PositiveIntegerField(default=0)
    hash = models.CharField(max_length=64)


class WorkerHeartbeat(models.Model):
    """A task worker says it is alive every few seconds: `/readyz` and `/metrics` read it, and
    a task left running by a worker that stopped beating is handed back to the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host} (pid {self.pid})"
