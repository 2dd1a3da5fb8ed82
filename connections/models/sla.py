"""SLA watchdog thresholds: per connection, optionally overridden for one inbox.

A threshold with an inbox applies to that inbox's escalations instead of the connection-wide one of
the same kind. The sweep that applies them is `conversations/watchdogs.py`.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from connections.models.connection import Connection
from connections.models.inboxes import ConnectedInbox
from tenants.models import TenantScopedQuerySet


class SlaKind(models.TextChoices):
    UNASSIGNED = "unassigned", "No agent assigned"
    NO_AGENT_REPLY = "no_agent_reply", "No agent reply after assignment"
    AGENT_SILENT = "agent_silent", "Agent silent (the user waits for an answer)"
    USER_SILENT = "user_silent", "User silent (the agent waits for an answer)"
    USER_LEFT = "user_left", "User left while waiting for an agent"


class SlaAction(models.TextChoices):
    NOTIFY = "notify", "Only notify (event to the bot, timeline, dashboard)"
    EMAIL = "email", "Also email the organisation's support leads"
    COMMENT = "comment", "Also post an internal comment in the HubSpot thread"
    CLOSE = "close", "Also close the escalation and return it to the bot"


class SlaThreshold(models.Model):
    tenant_lookup = "connection__tenant"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sla_thresholds")
    inbox = models.ForeignKey(
        ConnectedInbox,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_thresholds",
        help_text="Empty: every inbox of the connection. Set: only this inbox, replacing the "
        "connection-wide threshold of the same kind.",
    )
    kind = models.CharField(
        max_length=20,
        choices=SlaKind.choices,
        help_text="unassigned: waiting for an agent; no_agent_reply: assigned, no reply yet; "
        "agent_silent: the user's last message unanswered; user_silent: the agent's last message "
        "unanswered; user_left: the bot closed with by=user before any agent took it.",
    )
    minutes = models.PositiveIntegerField(
        help_text="Breached after this many minutes (user_left: when the user had waited at least "
        "this long; 0 counts every user who left)."
    )
    action = models.CharField(
        max_length=10,
        choices=SlaAction.choices,
        default=SlaAction.NOTIFY,
        help_text="Every breach is sent to the bot as escalation.sla_breached and shown on the "
        "timeline and dashboard; this is what happens besides. Close does not apply to user_left "
        "(already closed).",
    )

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SLA threshold"
        ordering = ("connection", "inbox", "kind")
        constraints = [
            models.UniqueConstraint(
                fields=("connection", "kind"), condition=Q(inbox__isnull=True), name="sla_one_per_connection"
            ),
            models.UniqueConstraint(
                fields=("connection", "inbox", "kind"),
                condition=Q(inbox__isnull=False),
                name="sla_one_per_inbox",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} after {self.minutes} min"

    @property
    def seconds(self) -> int:
        return self.minutes * 60

    def clean(self):
        if self.inbox_id and self.connection_id and self.inbox.connection_id != self.connection_id:
            raise ValidationError({"inbox": "Choose an inbox of this connection."})
