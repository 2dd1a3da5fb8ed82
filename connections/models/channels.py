"""Custom-channel registration: one channel per app, progress of registration per connection."""

from django.db import models

from connections.models.apps import HubSpotApp
from connections.models.connection import Connection
from tenants.models import TenantScopedQuerySet


class CustomChannel(models.Model):
    """The custom channel our app registered at HubSpot (shared by every portal of the app)."""

    tenant_lookup = "app__tenant"

    app = models.OneToOneField(HubSpotApp, on_delete=models.CASCADE, related_name="custom_channel")
    channel_id = models.CharField(max_length=50, blank=True, help_text="HubSpot's id; empty until created.")
    webhook_url = models.URLField(max_length=500, help_text="Where HubSpot posts channel events.")
    duplicate_channel_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Other channels of this app found at HubSpot with our webhook URL.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Channel {self.channel_id or '(not created)'} of {self.app}"


class RegistrationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    CREATING_CHANNEL = "creating_channel", "Creating channel"
    WAITING_FOR_LISTING = "waiting_for_listing", "Waiting for HubSpot to list the channel"
    CONNECTING_INBOXES = "connecting_inboxes", "Connecting inboxes"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    UNREGISTERING = "unregistering", "Unregistering"
    UNREGISTERED = "unregistered", "Not registered"


class ChannelRegistration(models.Model):
    """Where the (idempotent, resumable) registration task is for one connection."""

    tenant_lookup = "connection__tenant"

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="registration")
    state = models.CharField(
        max_length=30, choices=RegistrationState.choices, default=RegistrationState.UNREGISTERED
    )
    detail = models.CharField(
        max_length=500, blank=True, help_text="What the task is doing or why it stopped."
    )
    last_error = models.TextField(blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Registration of {self.connection}: {self.get_state_display()}"
