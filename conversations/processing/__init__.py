"""What a stored HubSpot event does: route it to a connection and escalation, then apply it.

    dispatch.py   EVENT_HANDLERS (the one table), IGNORED_EVENT_TYPES, process_event()
    context.py    Context (event, connection, escalation, lazy client) and Outcome
    routing.py    portal → connection, thread → escalation
    threads.py    conversation.* handlers (creation, property changes, new message, deletion)
    channel.py    custom-channel handlers (agent message, channel accounts)
    agents.py     actor lookup (cached) and "make sure the bot saw `assigned` first"

State changes and bot events go only through `conversations.lifecycle`, which is idempotent, so a
duplicate or replayed event changes nothing.
"""

from conversations.processing.dispatch import (
    EVENT_HANDLERS,
    IGNORED_EVENT_TYPES,
    SUPPORTED_EVENT_TYPES,
    process_event,
)

__all__ = ["EVENT_HANDLERS", "IGNORED_EVENT_TYPES", "SUPPORTED_EVENT_TYPES", "process_event"]
