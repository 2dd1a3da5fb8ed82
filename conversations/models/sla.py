"""SLA breaches: one row per escalation, kind and start of the stretch that ran over.

The row is the breach's record (the dashboard counts it, the timeline shows it) and the state of
the action its threshold chose: the sweep (`conversations/watchdogs.py`) writes it under the
escalation's row lock with the `escalation.sla_breached` event, then does the slow part (an email,
a HubSpot comment) after the commit and records the outcome here.
"""

from django.db import models

from connections.models import SlaAction, SlaKind
from conversations.models.escalations import Escalation
from tenants.models import TenantScopedQuerySet


class ActionStatus(models.TextChoices):
    DONE = "done", "Done"  # nothing owed (notify, close) or the email/comment went out
    PENDING = "pending", "Owed"
    FAILED = "failed", "Failed"


class SlaBreach(models.Model):
    tenant_lookup = "escalation__connection__tenant"

    # No index of its own: sla_breach_once leads with it.
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="sla_breaches", db_index=False
    )
    kind = models.CharField(max_length=20, choices=SlaKind.choices)
    # When the stretch that ran over began (waiting since, assigned at, the unanswered message's
    # time): a later stretch of the same kind (the agent silent again) is a new breach.
    since = models.DateTimeField()
    threshold_seconds = models.PositiveIntegerField()
    elapsed_seconds = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=SlaAction.choices)
    action_status = models.CharField(max_length=10, choices=ActionStatus.choices, default=ActionStatus.DONE)
    action_attempts = models.PositiveSmallIntegerField(default=0)
    action_error = models.TextField(blank=True)
    action_done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SLA breach"
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("escalation", "kind", "since"), name="sla_breach_once"),
        ]
        indexes = [
            models.Index(
                fields=("action", "created_at"),
                condition=models.Q(action_status="pending"),
                name="sla_breach_owed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.elapsed_seconds} s > {self.threshold_seconds} s)"

    @property
    def dedupe_key(self) -> str:
        return f"sla:{self.kind}:{self.since.timestamp():.6f}"
