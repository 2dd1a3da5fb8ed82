"""Realism switches: make the sandbox misbehave the way HubSpot sometimes does."""

from django.db import models


class SandboxBehaviour(models.Model):
    """A single row (pk=1) read on every sandbox request."""

    access_token_ttl_seconds = models.PositiveIntegerField(
        default=1800, help_text="Lifetime of issued access tokens (HubSpot: 30 minutes)."
    )
    rate_limit_per_10s = models.PositiveIntegerField(
        default=0, help_text="Requests allowed per app+portal per 10 s; 0 disables rate limiting."
    )
    fail_next_requests = models.PositiveIntegerField(
        default=0, help_text="Answer the next N API requests with fail_status (then count down)."
    )
    fail_status = models.PositiveIntegerField(default=503)
    fail_path_contains = models.CharField(
        max_length=200, blank=True, help_text="Only inject failures on paths containing this text."
    )
    duplicate_deliveries = models.BooleanField(default=False, help_text="Send every webhook twice.")
    reorder_deliveries = models.BooleanField(
        default=False, help_text="Hold webhooks and send each batch in reverse order."
    )
    channel_list_delay_seconds = models.PositiveIntegerField(
        default=0, help_text="A newly created channel is missing from list calls for this long."
    )
    webhook_max_attempts = models.PositiveIntegerField(default=10, help_text="HubSpot: 10 tries over 24 h.")

    class Meta:
        verbose_name = "sandbox behaviour"
        verbose_name_plural = "sandbox behaviour"

    def __str__(self) -> str:
        return "Sandbox behaviour"

    @classmethod
    def current(cls) -> "SandboxBehaviour":
        return cls.objects.get_or_create(pk=1)[0]
