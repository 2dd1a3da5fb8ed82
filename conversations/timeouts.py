"""The optional per-connection assignment timeout: no agent in time → `escalation.failed`.

A connection with `assignment_timeout_minutes` set fails escalations that are still requested or
open (no agent) that long after they started, or after their last agent unassigned them, with
reason `no_agent`, so the bot can fall back (after-hours message, ticket, retry later). The HubSpot
thread is deliberately left open: an agent may still pick it up there, and closing it would hide
the customer's request from the inbox.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from connections.models import Connection
from conversations import lifecycle
from conversations.models import Escalation, EscalationStatus, FailureReason

logger = logging.getLogger(__name__)

WAITING = (EscalationStatus.REQUESTED, EscalationStatus.OPEN)


def _waiting_since():
    # An escalation that an agent took and then handed back waits again from that moment.
    return Greatest(F("created_at"), Coalesce(F("assignment_changed_at"), F("created_at")))


def overdue(connection: Connection, *, now: dt.datetime):
    """The connection's escalations that have waited for an agent longer than its timeout."""
    limit = now - dt.timedelta(minutes=connection.assignment_timeout_minutes)
    return (
        Escalation.objects.filter(connection=connection, status__in=WAITING, agent_actor_id="")
        .alias(waiting_since=_waiting_since())
        .filter(waiting_since__lte=limit)
    )


def message_for(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return f"No agent took the conversation within {minutes} {unit}; the HubSpot thread is left open."


def expire_unassigned(*, now: dt.datetime | None = None) -> int:
    """Fail every overdue escalation with reason no_agent; returns how many. Idempotent."""
    now = now or timezone.now()
    failed = 0
    for connection in Connection.objects.filter(assignment_timeout_minutes__isnull=False):
        for pk in overdue(connection, now=now).values_list("pk", flat=True):
            failed += _expire_one(pk, connection, now)
    return failed


def _expire_one(pk, connection: Connection, now: dt.datetime) -> int:
    with transaction.atomic():
        # Re-checked under the row lock: an agent may have taken it since the query above, and
        # lifecycle.mark_failed only refuses terminal states, not an assignment.
        escalation = overdue(connection, now=now).select_for_update().filter(pk=pk).first()
        if escalation is None:
            return 0
        minutes = connection.assignment_timeout_minutes
        changed = lifecycle.mark_failed(
            escalation, reason=FailureReason.NO_AGENT, message=message_for(minutes), at=now
        )
    if changed:
        logger.info("escalation %s failed: no agent within %s minutes", pk, minutes)
    return int(changed)


__all__ = ["expire_unassigned", "message_for", "overdue"]
