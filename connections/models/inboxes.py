"""The HubSpot inboxes a connection hands conversations to, each with its channel account."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models

from connections.models.connection import Connection
from tenants.models import TenantScopedQuerySet


class InboxState(models.TextChoices):
    PENDING = "pending", "Waiting to connect"
    ACTIVE = "active", "Connected"
    FAILED = "failed", "Failed"
    REMOVED = "removed", "Removed"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/London, America/New_York).")


class ConnectedInbox(models.Model):
    tenant_lookup = "connection__tenant"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="inboxes")
    inbox_id = models.PositiveBigIntegerField(help_text="HubSpot inbox ID.")
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Escalations without an inbox_id go to the first inbox."
    )
    channel_account_id = models.CharField(
        max_length=50, blank=True, help_text="Our custom channel's account in this inbox."
    )
    delivery_identifier = models.CharField(
        max_length=255,
        blank=True,
        help_text="The channel account's CHANNEL_SPECIFIC_OPAQUE_ID: every publish names it as the "
        "recipient. Empty for an account made before identifiers; registration replaces it.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone of the opening hours and holidays (e.g. Europe/London). Daylight "
        "saving is followed.",
    )
    state = models.CharField(max_length=20, choices=InboxState.choices, default=InboxState.PENDING)
    last_error = models.TextField(blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "inbox"
        ordering = ("connection", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=("connection", "inbox_id"), name="connectedinbox_unique_inbox")
        ]

    def __str__(self) -> str:
        return f"{self.name or 'Inbox'} ({self.inbox_id})"
