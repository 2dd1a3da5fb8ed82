"""Platform-level records that belong to no tenant."""

import uuid

from django.conf import settings
from django.db import models

from tenants.models import TenantScopedQuerySet


class WorkerPing(models.Model):
    """A round trip through the task queue: written by a request, completed by a worker.

    Operators use it to prove that the broker and at least one worker are alive and can write to
    the database the web process reads.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="Hostname of the worker that answered.")

    class Meta:
        ordering = ("-requested_at",)

    def __str__(self) -> str:
        state = f"answered by {self.worker}" if self.completed_at else "waiting"
        return f"Worker ping {self.requested_at:%Y-%m-%d %H:%M:%S} ({state})"


class AuditLogEntry(models.Model):
    """Who did what, when, to which object, and how it ended. Never holds a secret."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    tenant_lookup = "tenant"

    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text="Username, or the command/task name."
    )
    action = models.CharField(max_length=60, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action} ({self.outcome})"
        )


class UserPreference(models.Model):
    """A person's own settings in the admin (core/preferences.py)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="Times in the admin are shown in it."
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"
