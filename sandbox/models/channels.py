"""Custom channels, channel accounts, inbox threads and their messages."""

from django.db import models

from sandbox.models.accounts import SandboxApp, SandboxContact, SandboxInbox, SandboxPortal


class SandboxChannel(models.Model):
    """A custom channel registered by an app (developer API key). Its pk is the channel id."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=200)
    capabilities = models.JSONField(default=dict)
    webhook_url = models.URLField(max_length=500, blank=True)
    channel_account_connection_redirect_url = models.URLField(max_length=500, blank=True)
    channel_description = models.TextField(blank=True)
    channel_logo_url = models.URLField(max_length=500, blank=True)
    archived = models.BooleanField(default=False)
    listed_after = models.DateTimeField(
        null=True, blank=True, help_text="Realism: a new channel is not listed before this time."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.name} (channel {self.pk})"


class SandboxChannelAccount(models.Model):
    """A channel connected to one inbox of one portal. Its pk is the channel account id."""

    channel = models.ForeignKey(SandboxChannel, on_delete=models.CASCADE, related_name="accounts")
    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="channel_accounts")
    inbox = models.ForeignKey(SandboxInbox, on_delete=models.CASCADE, related_name="channel_accounts")
    name = models.CharField(max_length=200)
    delivery_identifier_type = models.CharField(max_length=40, blank=True)
    delivery_identifier_value = models.CharField(max_length=255, blank=True)
    authorized = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.name} (account {self.pk})"


class SandboxThread(models.Model):
    """A conversation in an inbox. Its pk is the thread id (objectId in conversation webhooks)."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        CLOSED = "CLOSED"

    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="threads")
    inbox = models.ForeignKey(SandboxInbox, on_delete=models.CASCADE, related_name="threads")
    channel = models.ForeignKey(SandboxChannel, on_delete=models.CASCADE, related_name="threads")
    channel_account = models.ForeignKey(
        SandboxChannelAccount, on_delete=models.CASCADE, related_name="threads"
    )
    integration_thread_id = models.CharField(max_length=255, blank=True)
    contact = models.ForeignKey(SandboxContact, null=True, blank=True, on_delete=models.SET_NULL)
    visitor_actor_id = models.CharField(max_length=50, blank=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_delivery_identifier = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.CharField(max_length=50, blank=True, help_text="Actor id, e.g. A-123.")
    archived = models.BooleanField(default=False)
    spam = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    latest_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        indexes = [models.Index(fields=("channel_account", "integration_thread_id"))]

    def __str__(self) -> str:
        return f"Thread {self.pk} ({self.status})"


class SandboxMessage(models.Model):
    """A message in a thread, in HubSpot's PublicConversationsMessage terms."""

    class Direction(models.TextChoices):
        INCOMING = "INCOMING"
        OUTGOING = "OUTGOING"

    thread = models.ForeignKey(SandboxThread, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=30, default="MESSAGE")
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    text = models.TextField(blank=True)
    rich_text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    senders = models.JSONField(default=list, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=50)
    client_type = models.CharField(max_length=20, default="INTEGRATION")
    integration_idempotency_id = models.CharField(max_length=255, blank=True)
    in_reply_to_id = models.CharField(max_length=64, blank=True)
    status_type = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Type-specific fields (newStatus, assignedTo...)."
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=("integration_idempotency_id",))]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"
