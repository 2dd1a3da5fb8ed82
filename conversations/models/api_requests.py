"""A record of each escalation-changing call a bot made to the bot API: the console's timeline
shows "the bot started / sent / closed, and we answered 409" beside HubSpot's side.

Only what a person needs to audit the call is kept: never the body, headers or the key itself
(the key is referenced by row, whose hash is useless to a reader).
"""

from django.db import models
from django.utils import timezone

from connections.models import BotApiKey, Connection
from tenants.models import TenantScopedQuerySet


class BotApiRequest(models.Model):
    tenant_lookup = "connection__tenant"

    # Neither foreign key has an index of its own: the two composite indexes lead with them.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+", db_index=False)
    api_key = models.ForeignKey(BotApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalation = models.ForeignKey(
        "conversations.Escalation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_requests",
        db_index=False,
        help_text="Empty when the call was refused before an escalation existed (e.g. 422).",
    )
    action = models.CharField(max_length=20, help_text="start, message or close.")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300, help_text="Without the query string.")
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=60, blank=True, help_text="Our error code when refused.")
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=200, blank=True, help_text="X-Request-ID of the request.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "bot API request"
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=("escalation", "created_at")),
            models.Index(fields=("connection", "-created_at")),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"
