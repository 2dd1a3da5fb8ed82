"""Every request HubSpot sent us, stored raw before anything else, and each event in it."""

from django.db import models

from connections.models import Connection, HubSpotApp
from tenants.models import TenantScopedQuerySet


class WebhookReceipt(models.Model):
    """One HTTP request as received (headers, raw body). Webhooks are UNTRUSTED until `valid`."""

    class Kind(models.TextChoices):
        APP = "app", "App webhook (array of events)"
        CHANNEL = "channel", "Custom-channel webhook"

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"

    tenant_lookup = "app__tenant"

    app = models.ForeignKey(HubSpotApp, on_delete=models.CASCADE, related_name="webhook_receipts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    request_id = models.CharField(max_length=200, blank=True, help_text="X-Request-ID of the request.")
    event_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    exception = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-received_at",)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class HubSpotEvent(models.Model):
    """One HubSpot event, unique per app by its id: a duplicate delivery finds the existing row."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    tenant_lookup = "app__tenant"

    # No index of its own: the unique (app, dedupe_key) and hubspotevent_app_newest lead with it.
    app = models.ForeignKey(
        HubSpotApp, on_delete=models.CASCADE, related_name="hubspot_events", db_index=False
    )
    receipt = models.ForeignKey(WebhookReceipt, on_delete=models.CASCADE, related_name="events")
    dedupe_key = models.CharField(max_length=200, help_text="event:<eventId> or message:<messageId>…")
    event_type = models.CharField(max_length=80, help_text="subscriptionType, or the channel event type.")
    portal_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_id = models.CharField(
        max_length=64, blank=True, help_text="The thread id for conversation events."
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation = models.ForeignKey(
        "conversations.Escalation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hubspot_events",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    result = models.TextField(blank=True, help_text="What processing did, or why it was ignored.")
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the task that will process it is due: the retry of a processing that failed on "
        "a retryable error, or the one the lost-event sweep queued; empty when none is scheduled. The "
        "lost-event sweep waits for it.",
    )
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While a task processes it: the end of that task's lease, renewed as long as the task "
        "runs (conversations/webhooks/claims.py). The lost-event sweep takes it back only once this has "
        "passed (its worker died); empty when no task holds it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "HubSpot event"
        constraints = [
            models.UniqueConstraint(fields=("app", "dedupe_key"), name="hubspotevent_unique_per_app")
        ]
        indexes = [
            models.Index(fields=("object_id",)),
            models.Index(fields=("status", "created_at")),
            # The event log's page for a tenant: its apps' newest events first.
            models.Index(fields=("app", "-created_at"), name="hubspotevent_app_newest"),
            # Processing takes a thread's earlier pending events along (tasks/webhooks.py): found
            # here without reading the thread's history, however many events are pending elsewhere.
            models.Index(
                fields=("app", "object_id", "occurred_at"),
                condition=models.Q(status="pending"),
                name="hubspotevent_pending_thread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.dedupe_key} ({self.status})"
