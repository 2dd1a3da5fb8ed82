"""An escalation: one bot conversation handed to a live agent in one HubSpot inbox."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from connections.models import BotApiKey, ConnectedInbox, Connection
from tenants.models import TenantScopedQuerySet


class EscalationStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (EscalationStatus.REQUESTED, EscalationStatus.OPEN, EscalationStatus.ASSIGNED)


class FailureReason(models.TextChoices):
    CONTACT_NOT_FOUND = "contact_not_found", "No HubSpot contact matches the user"
    NO_AGENT = "no_agent", "No agent took the conversation in time"
    PUBLISH_FAILED = "publish_failed", "HubSpot refused the conversation"
    CONNECTION_ERROR = "connection_error", "The HubSpot connection is not usable"


class BriefingStatus(models.TextChoices):
    """The internal comment that briefs the agent when the HubSpot thread opens."""

    NOT_DUE = "", "Not due (no thread yet)"
    PENDING = "pending", "Owed"
    POSTED = "posted", "Posted"
    FAILED = "failed", "Refused by HubSpot"


class CloseReason(models.TextChoices):
    AGENT_CLOSED = "agent_closed", "Closed by the agent"
    BOT_CLOSED = "bot_closed", "Closed by the bot"
    # The bot closes on the end user's behalf and says so (`reason` of the close request).
    USER_ENDED = "user_ended", "Ended by the end user"
    # From the admin console; `closed_by` names the person.
    ADMIN_CLOSED = "admin_closed", "Closed by an admin"
    ARCHIVED = "archived", "Thread archived or deleted in HubSpot"
    # An SLA threshold whose action is to close (conversations/watchdogs.py).
    WATCHDOG = "watchdog", "Closed by an SLA watchdog"


class Escalation(models.Model):
    tenant_lookup = "connection__tenant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the indexes below that lead with it serve every lookup by it.
    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="escalations", db_index=False
    )
    inbox = models.ForeignKey(
        ConnectedInbox, null=True, on_delete=models.SET_NULL, related_name="escalations"
    )
    api_key = models.ForeignKey(BotApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversation_id = models.CharField(max_length=255, help_text="The bot's own conversation id.")
    idempotency_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=EscalationStatus.choices, default=EscalationStatus.REQUESTED
    )

    user_name = models.CharField(max_length=200)
    user_phone = models.CharField(max_length=20, blank=True, help_text="E.164.")
    user_email = models.EmailField(blank=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    locale = models.CharField(max_length=35, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    callback_url = models.URLField(max_length=1000, blank=True)

    integration_thread_id = models.CharField(
        max_length=64, default=uuid.uuid4, editable=False, help_text="Groups our messages into one thread."
    )
    hubspot_thread_id = models.CharField(max_length=32, blank=True, db_index=True)
    # Reopen policy "same_thread": the closed escalation whose HubSpot thread this one reopens, and
    # that thread until it is confirmed open (then it is hubspot_thread_id). `reopen_error` says why
    # a new thread was made instead (the old one archived or gone).
    reopened_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopens_thread_id = models.CharField(max_length=32, blank=True)
    reopen_error = models.TextField(blank=True)
    hubspot_contact_id = models.CharField(max_length=32, blank=True)
    # Other contacts with the same phone or email (a CRM's duplicates): the rule picked
    # hubspot_contact_id (docs/handoff.md), these are kept for a person to merge or check.
    other_contact_ids = models.JSONField(default=list, blank=True)
    # No contact matched and the connection's policy created one (Connection.unknown_contact).
    contact_created = models.BooleanField(default=False)
    # The contact as HubSpot knows it (from the contact search), so the console finds the
    # escalation by whichever identifier a person has, not only the one the bot sent.
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    agent_actor_id = models.CharField(max_length=50, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.EmailField(blank=True)

    failure_reason = models.CharField(max_length=30, choices=FailureReason.choices, blank=True)
    failure_message = models.TextField(blank=True)
    close_reason = models.CharField(max_length=30, choices=CloseReason.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The admin who closed it from the console.",
    )
    # The bot (or an operator) closed it and the HubSpot thread must be closed too: set with the
    # close, cleared when HubSpot confirms (hubspot_closed_at) or refuses for good
    # (hubspot_close_error). `sweep_owed_thread_closes` re-queues the owed ones whose task was lost.
    hubspot_close_pending = models.BooleanField(default=False)
    hubspot_closed_at = models.DateTimeField(null=True, blank=True)
    hubspot_close_error = models.TextField(blank=True)

    # The agent's briefing (conversations/briefing.py): owed once the thread exists, posted by a
    # task with backoff and re-queued by `sweep_owed_briefings`; never holds the escalation up.
    briefing_status = models.CharField(max_length=10, choices=BriefingStatus.choices, blank=True, default="")
    briefing_attempts = models.PositiveSmallIntegerField(default=0)
    briefing_error = models.TextField(blank=True)
    briefing_message_id = models.CharField(max_length=64, blank=True)
    briefing_posted_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (a retry's countdown): the sweep leaves alone what a task will retry.
    briefing_due_at = models.DateTimeField(null=True, blank=True)

    # What the bot was last told of its queue (the opened event or the last queue_updated), so a
    # refresh sends only material changes, at a bounded rate (conversations/queue_updates.py).
    queue_position_sent = models.PositiveIntegerField(null=True, blank=True)
    queue_estimate_sent = models.PositiveIntegerField(null=True, blank=True)
    queue_sent_at = models.DateTimeField(null=True, blank=True)
    queue_updates_sent = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Latest HubSpot change applied per field, so a late webhook cannot undo a newer one.
    assignment_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_event_sequence = models.PositiveIntegerField(default=0, editable=False)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("connection", "conversation_id"),
                condition=Q(status__in=["requested", "open", "assigned"]),
                name="escalation_one_active_per_conversation",
            ),
            models.UniqueConstraint(
                fields=("connection", "idempotency_key"),
                condition=~Q(idempotency_key=""),
                name="escalation_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=("connection", "status", "-created_at")),
            models.Index(fields=("connection", "conversation_id")),
            # The admin console's live refresh asks "what changed since <cursor>?" (one range scan).
            models.Index(fields=("updated_at",), name="escalation_updated_at"),
            # Its list: a tenant's newest first, read straight from the index (admin/escalations.py).
            models.Index(fields=("connection", "-created_at"), name="escalation_connection_newest"),
            # The console's search matches these exactly (conversations/search.py); without them a
            # superuser's search reads every row.
            models.Index(fields=("user_phone",), name="escalation_user_phone"),
            models.Index(Upper("user_email"), name="escalation_user_email_ci"),
            models.Index(Upper("contact_email"), name="escalation_contact_email_ci"),
            models.Index(fields=("contact_phone",), name="escalation_contact_phone"),
            models.Index(fields=("conversation_id",), name="escalation_conversation_id"),
            models.Index(
                fields=("briefing_due_at",),
                condition=Q(briefing_status="pending"),
                name="escalation_briefing_owed",
            ),
            # The close sweep's question, over the few owed rows only.
            models.Index(
                fields=("closed_at",), condition=Q(hubspot_close_pending=True), name="escalation_close_owed"
            ),
            # The queue of an inbox (conversations/queue.py: positions and waiting counts), read from
            # the index alone; the inbox's index would visit every escalation it ever had.
            models.Index(
                fields=("inbox", "created_at", "id"),
                condition=Q(status__in=("requested", "open"), agent_actor_id=""),
                name="escalation_inbox_queue",
            ),
            # The inbox's recent time-to-assign, newest first (the wait estimate's history).
            models.Index(
                fields=("inbox", "-created_at"),
                include=("assigned_at",),
                condition=Q(assigned_at__isnull=False),
                name="escalation_inbox_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
