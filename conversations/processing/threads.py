"""Handlers of app webhooks about inbox threads (`conversation.*`, contract §9.3).

`objectId` is the thread id. Each handler runs only for a thread that is an escalation of the
event's connection (dispatch checks that first, except for `conversation.creation`).
"""

from __future__ import annotations

from conversations import lifecycle
from conversations.models import CloseReason, EscalationMessage, EscalationStatus
from conversations.processing import agents
from conversations.processing.context import NOT_OURS, Context, Outcome
from conversations.processing.routing import escalation_by_thread


def on_creation(ctx: Context) -> Outcome:
    """A thread appeared. Usually the publish response already told us its id; if not, match it to
    a requested escalation by the id of a message we published (one HubSpot call, made only when a
    requested escalation is still waiting for its thread)."""
    thread_id = ctx.event.object_id
    if ctx.escalation is None:
        waiting = EscalationMessage.objects.filter(
            escalation__connection=ctx.connection,
            escalation__status=EscalationStatus.REQUESTED,
            escalation__hubspot_thread_id="",
        ).exclude(hubspot_message_id="")
        if not waiting.exists():
            return Outcome.ignored(NOT_OURS)
        ids = {m.get("id") for m in ctx.client.iter_thread_messages(thread_id)}
        match = waiting.filter(hubspot_message_id__in=[str(i) for i in ids if i]).first()
        if match is None:
            return Outcome.ignored(NOT_OURS)
        ctx.escalation = match.escalation
    changed = lifecycle.mark_open(ctx.escalation, thread_id=thread_id, at=ctx.at)
    return Outcome.done("opened" if changed else "thread mapped; already open")


def on_property_change(ctx: Context) -> Outcome:
    name = ctx.payload.get("propertyName") or ""
    handler = PROPERTY_HANDLERS.get(name)
    if handler is None:
        return Outcome.ignored(f"property {name or '(none)'} is not used")
    return handler(ctx, str(ctx.payload.get("propertyValue") or ""))


def _assigned_to(ctx: Context, value: str) -> Outcome:
    if not value:
        agents.assign(ctx, "", ctx.at)
        ctx.escalation.refresh_from_db()  # lifecycle refreshes only when it emitted
        return Outcome.done("unassigned" if ctx.escalation.status == EscalationStatus.OPEN else "no change")
    changed = agents.assign(ctx, value, ctx.at)
    if changed:
        return Outcome.done(f"assigned to {value}")
    return Outcome.done(f"assignment to {value} changed nothing (already applied, older, or ended)")


def _status(ctx: Context, value: str) -> Outcome:
    if value.upper() == "CLOSED":
        return close(ctx, CloseReason.AGENT_CLOSED)
    if value.upper() == "OPEN":
        if ctx.escalation.status in lifecycle.TERMINAL:
            return Outcome.done("reopened in HubSpot; the escalation stays closed (terminal)")
        return Outcome.done("status OPEN: nothing to change")
    return Outcome.ignored(f"unknown status {value!r}")


def _is_archived(ctx: Context, value: str) -> Outcome:
    if value.lower() == "true":
        return close(ctx, CloseReason.ARCHIVED)
    return Outcome.done("thread restored in HubSpot; the escalation stays as it is")


PROPERTY_HANDLERS = {"assignedTo": _assigned_to, "status": _status, "isArchived": _is_archived}


def on_deletion(ctx: Context) -> Outcome:
    return close(ctx, CloseReason.ARCHIVED)


def close(ctx: Context, reason: str) -> Outcome:
    """Close after reconciling: the assignee and any agent reply HubSpot holds that we have not
    recorded go to the bot first, so a `closed` delivered early cannot overtake them."""
    if ctx.escalation.status in lifecycle.TERMINAL:
        return Outcome.done(f"already {ctx.escalation.status}")
    agents.ensure_assigned(ctx, ctx.at)
    recorded = agents.reconcile_messages(ctx)
    if recorded:
        ctx.notes.append(f"{recorded} agent message(s) recorded before closing")
    changed = lifecycle.mark_closed(ctx.escalation, reason=reason, at=ctx.at)
    return Outcome.done(f"closed ({reason})" if changed else "already closed")


def on_new_message(ctx: Context) -> Outcome:
    """Usually the channel webhook brought the message first; both paths meet on the message id."""
    message_id = str(ctx.payload.get("messageId") or "")
    if ctx.payload.get("messageType", "MESSAGE") != "MESSAGE" or not message_id:
        return Outcome.ignored(f"message type {ctx.payload.get('messageType')!r} is not relayed")
    if ctx.escalation.messages.filter(hubspot_message_id=message_id).exists():
        return Outcome.done("message already recorded")
    message = ctx.client.get_thread_message(ctx.event.object_id, message_id)
    if not agents.is_agent_message(message):
        return Outcome.ignored("not an agent's message")
    recorded = agents.record_message(ctx, message)
    return Outcome.done("agent message recorded" if recorded else "not recorded (duplicate or after close)")


def find_escalation(ctx: Context):
    return escalation_by_thread(ctx.connection, ctx.event.object_id, ctx.at)
