"""The app's webhook settings and subscriptions, and every delivery the sandbox makes."""

from django.db import models

from sandbox.models.accounts import SandboxApp


class SandboxWebhookSettings(models.Model):
    app = models.OneToOneField(SandboxApp, on_delete=models.CASCADE, related_name="webhook_settings")
    target_url = models.URLField(max_length=500)
    max_concurrent_requests = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sandbox webhook settings"
        verbose_name_plural = "sandbox webhook settings"

    def __str__(self) -> str:
        return f"Webhook settings of {self.app}"


class SandboxSubscription(models.Model):
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="subscriptions")
    event_type = models.CharField(max_length=60)
    property_name = models.CharField(max_length=100, blank=True)
    object_type_id = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        suffix = f" ({self.property_name})" if self.property_name else ""
        return f"{self.event_type}{suffix} of {self.app}"


class SandboxWebhookDelivery(models.Model):
    """One signed POST the sandbox owes a webhook receiver, retried like HubSpot retries."""

    class Kind(models.TextChoices):
        APP = "app", "App webhook (array of events)"
        CHANNEL = "channel", "Custom-channel webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField(max_length=500)
    body = models.JSONField(help_text="The event array (app) or object (channel) as sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "sandbox webhook deliveries"
        ordering = ("-id",)
        indexes = [models.Index(fields=("status", "next_attempt_at"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} to {self.url} ({self.status})"
