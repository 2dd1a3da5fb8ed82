"""The escalation state machine, and what each transition tells the bot.

    requested ──publish ok──▶ open ──assignedTo──▶ assigned ──status CLOSED / bot close──▶ closed
        └──────── contact not found / publish refused / no agent in time ──▶ failed

Closed and failed are terminal: nothing reopens them (a HubSpot thread reopened by an agent, or a
late `assignedTo` arriving after `CLOSED`, is recorded by the caller and changes nothing here).
Every function is idempotent: re-applying what is already true emits nothing, so duplicate or
replayed webhooks cannot produce a second event. Changes carry HubSpot's time (`at`), and an
assignment older than the last one applied is ignored, so reordered webhooks cannot roll state back.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from conversations import briefing, closing, events, queue, queue_updates
from conversations.models import (
    CloseReason,
    Escalation,
    EscalationMessage,
    EscalationStatus,
    EventType,
    FailureReason,
    MessageDirection,
    PublishStatus,
)
from core import jobs, metrics

TERMINAL = (EscalationStatus.CLOSED, EscalationStatus.FAILED)


def _locked(escalation: Escalation) -> Escalation:
    return Escalation.objects.select_for_update().get(pk=escalation.pk)


def _agent(escalation: Escalation) -> dict | None:
    if not escalation.agent_actor_id:
        return None
    return {"id": escalation.agent_actor_id, "name": escalation.agent_name, "email": escalation.agent_email}


def mark_open(escalation: Escalation, *, thread_id: str, at: dt.datetime | None = None) -> bool:
    """HubSpot accepted the first message: the thread exists. Returns True if this changed state."""
    with transaction.atomic():
        esc = _locked(escalation)
        if thread_id and not esc.hubspot_thread_id:
            esc.hubspot_thread_id = str(thread_id)
            # The agent's briefing is owed from now; posted after commit, never holding this up.
            briefing.owe(esc)
            esc.save(update_fields=["hubspot_thread_id", "briefing_status", "briefing_due_at", "updated_at"])
            jobs.enqueue_on_commit(jobs.POST_BRIEFING, str(esc.pk), what=f"briefing of escalation {esc.pk}")
        changed = _open_locked(esc, at or timezone.now())
    escalation.refresh_from_db()
    return changed


def _open_locked(esc: Escalation, at: dt.datetime) -> bool:
    # Every later event implies the thread is open, so whichever arrives first opens it: the bot
    # always sees `opened` before `assigned` or a message, whatever order HubSpot delivers in.
    if esc.status != EscalationStatus.REQUESTED:
        return False
    esc.status = EscalationStatus.OPEN
    esc.opened_at = at
    # Where the user stands as the thread opens (null once an agent has it); later material
    # changes go out as escalation.queue_updated, compared with this.
    position = queue.queue_for(esc, now=max(at, esc.created_at))
    queue_updates.remember_sent(esc, position, timezone.now())
    esc.save(
        update_fields=[
            "status",
            "opened_at",
            "queue_position_sent",
            "queue_estimate_sent",
            "queue_sent_at",
            "updated_at",
        ]
    )
    events.emit(
        esc,
        EventType.OPENED,
        {"hubspot_thread_id": esc.hubspot_thread_id, "inbox_id": _inbox_id(esc), "queue": position},
        dedupe_key="opened",
        occurred_at=at,
    )
    _queue_moved(esc)
    return True


def _queue_moved(esc: Escalation) -> None:
    """The inbox's queue changed (a start, an assignment, an end): refresh the others' places."""
    if esc.inbox_id:
        jobs.enqueue_on_commit(
            jobs.REFRESH_QUEUE, esc.inbox_id, what=f"queue refresh of inbox {esc.inbox_id}"
        )


def mark_assigned(
    escalation: Escalation, *, actor_id: str, name: str = "", email: str = "", at: dt.datetime | None = None
) -> bool:
    """An agent took (or was given) the conversation. Reassignment to another agent emits again.
    An empty `actor_id` is HubSpot unassigning: back to the queue, the bot is told nothing."""
    at = at or timezone.now()
    with transaction.atomic():
        changed = _assign_locked(_locked(escalation), actor_id, name, email, at)
    escalation.refresh_from_db()
    return changed


def _assign_locked(esc: Escalation, actor_id: str, name: str, email: str, at: dt.datetime) -> bool:
    if esc.status in TERMINAL:
        return False
    if esc.assignment_changed_at and at < esc.assignment_changed_at:
        return False  # an older assignment arriving late
    _open_locked(esc, at)
    if not actor_id:
        esc.agent_actor_id, esc.agent_name, esc.agent_email = "", "", ""
        if esc.status == EscalationStatus.ASSIGNED:
            esc.status = EscalationStatus.OPEN
        esc.assignment_changed_at = at
        esc.save()
        _queue_moved(esc)
        return False
    if esc.agent_actor_id == actor_id and esc.status == EscalationStatus.ASSIGNED:
        return False
    previous = esc.agent_actor_id
    esc.agent_actor_id, esc.agent_name, esc.agent_email = actor_id, name, email
    esc.status = EscalationStatus.ASSIGNED
    esc.assigned_at = esc.assigned_at or at
    esc.assignment_changed_at = at
    esc.save()
    events.emit(
        esc,
        EventType.ASSIGNED,
        {"agent": _agent(esc), "previous_agent_id": previous or None},
        dedupe_key=f"assigned:{actor_id}:{int(at.timestamp() * 1000)}",
        occurred_at=at,
    )
    metrics.escalation_assigned(esc, at)
    _queue_moved(esc)
    return True


def mark_closed(escalation: Escalation, *, reason: str, at: dt.datetime | None = None, by=None) -> bool:
    """The thread was closed (by the agent, the bot, the end user through the bot, an admin `by`,
    or archived in HubSpot)."""
    at = at or timezone.now()
    with transaction.atomic():
        esc = _locked(escalation)
        if esc.status in TERMINAL:
            return False
        esc.status = EscalationStatus.CLOSED
        esc.close_reason = reason
        esc.closed_at = at
        esc.status_changed_at = at
        if by is not None:
            esc.closed_by = by
        esc.save()
        events.emit(
            esc,
            EventType.CLOSED,
            {"reason": reason, "agent": _agent(esc), **closing.summary(esc, at, by)},
            dedupe_key="closed",
            occurred_at=at,
        )
        metrics.escalation_closed(esc)
        _queue_moved(esc)
    escalation.refresh_from_db()
    return True


def mark_failed(escalation: Escalation, *, reason: str, message: str, at: dt.datetime | None = None) -> bool:
    """The hand-off cannot happen (or stopped: no agent in time). `message` is for a person."""
    at = at or timezone.now()
    with transaction.atomic():
        esc = _locked(escalation)
        if esc.status in TERMINAL:
            return False
        esc.status = EscalationStatus.FAILED
        esc.failure_reason = reason
        esc.failure_message = message
        esc.failed_at = at
        esc.save()
        events.emit(
            esc,
            EventType.FAILED,
            {"reason": reason, "message": message},
            dedupe_key="failed",
            occurred_at=at,
        )
        _queue_moved(esc)
    escalation.refresh_from_db()
    return True


def record_agent_message(
    escalation: Escalation,
    *,
    hubspot_message_id: str,
    text: str,
    attachments: list[dict],
    actor_id: str,
    agent_name: str = "",
    at: dt.datetime,
) -> EscalationMessage | None:
    """An agent's reply for the bot, once per HubSpot message id. None if already recorded or if
    it was written after the escalation ended (a message written before closing is still owed)."""
    with transaction.atomic():
        esc = _locked(escalation)
        # One statement: is it recorded already, and the position after the last message.
        known = esc.messages.aggregate(
            same=Count("pk", filter=Q(hubspot_message_id=hubspot_message_id)), last=Max("position")
        )
        if known["same"]:
            return None
        ended_at = esc.closed_at or esc.failed_at
        if ended_at and at > ended_at:
            return None
        _open_locked(esc, at)
        position = (known["last"] or 0) + 1
        message = EscalationMessage.objects.create(
            escalation=esc,
            position=position,
            direction=MessageDirection.TO_BOT,
            role="agent",
            text=text,
            attachments=attachments,
            sent_at=at,
            hubspot_message_id=hubspot_message_id,
            agent_actor_id=actor_id,
            publish_status=PublishStatus.RECEIVED,
        )
        events.emit(
            esc,
            EventType.MESSAGE,
            {
                "message_id": hubspot_message_id,
                "text": text,
                "attachments": attachments,
                "agent": {"id": actor_id, "name": agent_name or esc.agent_name},
            },
            dedupe_key=f"message:{hubspot_message_id}",
            occurred_at=at,
            # The message and its event are written together under this lock: no message with
            # this id (checked above) means no event for it either.
            new_cause=True,
        )
    return message


def _inbox_id(esc: Escalation) -> int | None:
    return esc.inbox.inbox_id if esc.inbox_id else None


__all__ = [
    "CloseReason",
    "FailureReason",
    "mark_assigned",
    "mark_closed",
    "mark_failed",
    "mark_open",
    "record_agent_message",
]
