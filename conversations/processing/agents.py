"""Agents: who an actor id is, and the order the bot hears about them.

The bot must see `assigned` before the agent's first message and before `closed`, whatever order
HubSpot's webhooks arrive in (they are not ordered, contract §9.3). So before recording an agent's
message, or closing, an escalation that is not assigned yet asks HubSpot who the thread's assignee
is and applies that first. An `assignedTo` webhook arriving later carries an older time and is
ignored by `lifecycle.mark_assigned`, so both orders end with the same events.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache

from connections.hubspot import HubSpotNotFound
from conversations import lifecycle
from conversations.attachments import fetchable_attachments
from conversations.lifecycle import TERMINAL
from conversations.models import EscalationStatus
from conversations.processing.context import Context
from conversations.webhooks.parsing import parse_iso


def actor(ctx: Context, actor_id: str) -> dict:
    """{"id", "name", "email"} of an actor, cached per portal for HITL_ACTOR_CACHE_SECONDS."""
    key = f"hitl:hubspot-actor:{ctx.connection.app_id}:{ctx.connection.portal_id}:{actor_id}"
    found = cache.get(key)
    if found is None:
        try:
            data = ctx.client.get_actor(actor_id)
        except HubSpotNotFound:
            data = {}  # a deleted user: still assigned, just without a name
        found = {"id": actor_id, "name": data.get("name") or "", "email": data.get("email") or ""}
        cache.set(key, found, settings.HITL_ACTOR_CACHE_SECONDS)
    return found


def assign(ctx: Context, actor_id: str, at: dt.datetime) -> bool:
    if not actor_id:
        return lifecycle.mark_assigned(ctx.escalation, actor_id="", at=at)
    who = actor(ctx, actor_id)
    return lifecycle.mark_assigned(
        ctx.escalation, actor_id=actor_id, name=who["name"], email=who["email"], at=at
    )


def ensure_assigned(ctx: Context, at: dt.datetime) -> None:
    """If we have not seen an assignment yet, take the thread's current assignee from HubSpot."""
    esc = ctx.escalation
    if esc.status != EscalationStatus.ASSIGNED:
        # Only a row read before another task assigned it can be stale in a way that matters; an
        # assigned one means the bot already heard `assigned` (no need to read it again).
        esc.refresh_from_db()
    if esc.status in TERMINAL or esc.status == EscalationStatus.ASSIGNED or esc.assignment_changed_at:
        return
    thread = ctx.client.get_thread(esc.hubspot_thread_id)
    assignee = thread.get("assignedTo") or ""
    if assignee and assign(ctx, assignee, at):
        ctx.notes.append(f"assigned to {assignee} (looked up first)")


def is_agent_message(message: dict) -> bool:
    """An agent's reply typed in HubSpot: OUTGOING, written from HubSpot's UI (not an integration)."""
    return (
        message.get("type", "MESSAGE") == "MESSAGE"
        and message.get("direction") == "OUTGOING"
        and (message.get("client") or {}).get("clientType", "HUBSPOT") == "HUBSPOT"
    )


def record_message(ctx: Context, message: dict) -> bool:
    """Record an agent's message for the bot (once per HubSpot message id). True if new."""
    esc = ctx.escalation
    # Already recorded? Asked here only to spare HubSpot calls (the assignee, the sender's name, the
    # attachments' links) for a message we have; whether to record it is decided under the
    # escalation's lock (lifecycle.record_agent_message), so a reply needing no call skips it.
    if _needs_hubspot(esc, message) and esc.messages.filter(hubspot_message_id=str(message["id"])).exists():
        return False
    at = parse_iso(message.get("createdAt")) or ctx.at
    ensure_assigned(ctx, at)
    senders = message.get("senders") or [{}]
    actor_id = senders[0].get("actorId") or message.get("createdBy") or ""
    name = senders[0].get("name") or ""
    if not name and actor_id.startswith("A-"):
        name = actor(ctx, actor_id)["name"]
    recorded = lifecycle.record_agent_message(
        esc,
        hubspot_message_id=str(message["id"]),
        text=message.get("text") or "",
        attachments=fetchable_attachments(ctx.client, message.get("attachments") or []),
        actor_id=actor_id,
        agent_name=name,
        at=at,
    )
    return recorded is not None


def _needs_hubspot(esc, message: dict) -> bool:
    """Whether recording the message may call HubSpot first (see ensure_assigned and actor)."""
    if esc.status != EscalationStatus.ASSIGNED or message.get("attachments"):
        return True
    senders = message.get("senders") or [{}]
    return not senders[0].get("name")


def reconcile_messages(ctx: Context) -> int:
    """Record agent messages HubSpot holds that we have not seen yet (webhooks can be late or
    lost); returns how many were new. Called before closing, so `closed` cannot overtake a reply."""
    esc = ctx.escalation
    known = set(esc.messages.exclude(hubspot_message_id="").values_list("hubspot_message_id", flat=True))
    missing = [
        m
        for m in ctx.client.iter_thread_messages(esc.hubspot_thread_id)
        if is_agent_message(m) and str(m.get("id")) not in known
    ]
    missing.sort(key=lambda m: str(m.get("createdAt") or ""))
    return sum(record_message(ctx, m) for m in missing)
