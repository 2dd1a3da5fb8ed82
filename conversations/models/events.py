"""Events owed to the bot: one envelope per state change or agent message, sequenced per
escalation, each delivery attempt recorded."""

import uuid
from urllib.parse import urlsplit

from django.db import models

from conversations.models.escalations import Escalation
from tenants.models import TenantScopedQuerySet


class EventType(models.TextChoices):
    OPENED = "escalation.opened"
    ASSIGNED = "escalation.assigned"
    MESSAGE = "escalation.message"
    CLOSED = "escalation.closed"
    FAILED = "escalation.failed"
    SLA_BREACHED = "escalation.sla_breached"
    QUEUE_UPDATED = "escalation.queue_updated"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"
    NO_CALLBACK = "no_callback", "No callback URL (pull only)"


class EscalationEvent(models.Model):
    tenant_lookup = "escalation__connection__tenant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: both unique constraints below lead with it.
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    sequence = models.PositiveIntegerField(help_text="1, 2, 3… per escalation, no gaps.")
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    dedupe_key = models.CharField(
        max_length=200, help_text="What caused the event; the same cause never makes a second event."
    )
    delivery_status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The request that caused it (X-Request-ID), sent with its callback.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("escalation", "sequence")
        constraints = [
            models.UniqueConstraint(fields=("escalation", "sequence"), name="event_unique_sequence"),
            models.UniqueConstraint(fields=("escalation", "dedupe_key"), name="event_unique_cause"),
        ]
        indexes = [models.Index(fields=("delivery_status", "next_attempt_at"))]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence}"

    def envelope(self) -> dict:
        """The JSON the bot receives (callback body) and pulls (events endpoint)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "escalation_id": str(self.escalation_id),
            "conversation_id": self.escalation.conversation_id,
            "sequence": self.sequence,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class CallbackAttempt(models.Model):
    tenant_lookup = "event__escalation__connection__tenant"

    event = models.ForeignKey(EscalationEvent, on_delete=models.CASCADE, related_name="callback_attempts")
    url = models.URLField(max_length=1000)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        # The host only: a bot's URL may carry its token in the query string, and str() is printed
        # in admin titles, breadcrumbs and logs.
        return f"{urlsplit(self.url).netloc or '?'} → {self.status_code or self.error[:40]}"
