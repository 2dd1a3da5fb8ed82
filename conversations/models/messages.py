"""Messages of an escalation, both ways: transcript and user messages to HubSpot, agent replies to the bot."""

from django.db import models
from django.db.models import Q

from conversations.models.escalations import Escalation
from tenants.models import TenantScopedQuerySet


class MessageDirection(models.TextChoices):
    TO_AGENT = "to_agent", "Bot/user → agent"
    TO_BOT = "to_bot", "Agent → bot"


class PublishStatus(models.TextChoices):
    PENDING = "pending", "Waiting to publish"
    PUBLISHED = "published", "Published to HubSpot"
    FAILED = "failed", "Publish failed"
    RECEIVED = "received", "Received from HubSpot"


class EscalationMessage(models.Model):
    tenant_lookup = "escalation__connection__tenant"

    # No index of its own: message_unique_position leads with it.
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    position = models.PositiveIntegerField(help_text="Order within the escalation, 1, 2, 3…")
    direction = models.CharField(max_length=10, choices=MessageDirection.choices)
    role = models.CharField(max_length=10, help_text="intro, user, bot or agent.")
    text = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list, blank=True, help_text="[{name, content_type, size, url, hubspot_file_id}]"
    )
    sent_at = models.DateTimeField(help_text="When the author sent it (transcript time for history).")
    client_message_id = models.CharField(
        max_length=255, blank=True, help_text="The bot's id for the message."
    )
    hubspot_message_id = models.CharField(max_length=64, blank=True)
    agent_actor_id = models.CharField(max_length=50, blank=True)
    publish_status = models.CharField(max_length=10, choices=PublishStatus.choices)
    publish_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("escalation", "position")
        constraints = [
            models.UniqueConstraint(fields=("escalation", "position"), name="message_unique_position"),
            models.UniqueConstraint(
                fields=("escalation", "hubspot_message_id"),
                condition=~Q(hubspot_message_id=""),
                name="message_unique_hubspot_id",
            ),
            models.UniqueConstraint(
                fields=("escalation", "client_message_id"),
                condition=~Q(client_message_id=""),
                name="message_unique_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.role}: {self.text[:40]}"

    @property
    def idempotency_id(self) -> str:
        """HubSpot's integrationIdempotencyId: stable per message, so a retried publish is one message."""
        return f"{self.escalation_id}:{self.position}"
