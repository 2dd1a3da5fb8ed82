"""Handlers of custom-channel webhooks (contract §5.4): agent replies and channel-account changes."""

from __future__ import annotations

from connections.models import ConnectedInbox, InboxState
from conversations import lifecycle
from conversations.processing import agents
from conversations.processing.context import NOT_OURS, Context, Outcome
from conversations.processing.routing import escalation_for_channel_message


def on_outgoing_message(ctx: Context) -> Outcome:
    message = ctx.payload.get("message") or {}
    if ctx.escalation is None:
        return Outcome.ignored(NOT_OURS)
    thread_id = str(message.get("conversationsThreadId") or "")
    if thread_id and not ctx.escalation.hubspot_thread_id:
        lifecycle.mark_open(ctx.escalation, thread_id=thread_id, at=ctx.at)
    if not ctx.escalation.hubspot_thread_id:
        return Outcome.ignored("no thread id to relay the message from")
    recorded = agents.record_message(ctx, message)
    return Outcome.done("agent message recorded" if recorded else "message already recorded or after close")


def find_escalation(ctx: Context):
    return escalation_for_channel_message(ctx.connection, ctx.payload, ctx.at)


def on_channel_account(ctx: Context) -> Outcome:
    """Keep our inbox rows honest about HubSpot's side: an account disabled or purged in HubSpot
    stops escalations from reaching that inbox, and the admin must see why."""
    account_id = str(ctx.payload.get("channelAccountId") or "")
    inbox = ConnectedInbox.objects.filter(connection=ctx.connection, channel_account_id=account_id).first()
    if not account_id or inbox is None:
        return Outcome.ignored("not one of our channel accounts")
    kind = ctx.event.event_type
    account = ctx.payload.get("channelAccount") if isinstance(ctx.payload.get("channelAccount"), dict) else {}
    authorized = ctx.payload.get("authorized", account.get("authorized"))
    if kind == "CHANNEL_ACCOUNT_PURGED":
        inbox.state = InboxState.REMOVED
        inbox.last_error = "HubSpot deleted this inbox's channel account; connect the inbox again."
    elif authorized is False:
        inbox.state = InboxState.FAILED
        inbox.last_error = "The channel account was disconnected (not authorized) in HubSpot."
    elif authorized is True and inbox.state == InboxState.FAILED:
        inbox.state = InboxState.ACTIVE
        inbox.last_error = ""
    else:
        return Outcome.done(f"{kind}: inbox {inbox.inbox_id} unchanged")
    inbox.save(update_fields=["state", "last_error", "updated_at"])
    return Outcome.done(f"{kind}: inbox {inbox.inbox_id} is now {inbox.state}")
