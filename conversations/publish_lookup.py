"""Before a refused publish fails an escalation: is the message already in HubSpot?

A publish whose outcome was unknown (read timeout, 5xx) may have reached HubSpot. Its replay
carries the same `integrationIdempotencyId`, which HubSpot normally answers with the original
message; but when HubSpot refuses the replay instead, failing the hand-off would throw away a
conversation the agent can already see. So the thread is read first.

HubSpot's message (`PublicConversationsMessage`) does not echo `integrationIdempotencyId`, so the
message is recognised by what we sent and HubSpot keeps as given: an INCOMING message of our
channel account with the same text and the same `timestamp` (HubSpot stores it as `createdAt`).
The thread is the escalation's one when known; before the first publish answered, the inbox's
threads associated with the escalation's contact, newest first.
"""

from __future__ import annotations

import logging
from itertools import islice

from connections.hubspot import HubSpotAuthError, HubSpotError, HubSpotNotFound
from connections.hubspot.conversations import format_timestamp
from conversations.webhooks.parsing import parse_iso

log = logging.getLogger(__name__)

#: Threads of the contact read when the escalation's thread is not known yet.
MAX_THREADS = 5
#: Messages read per thread (newest first would need a sort HubSpot may not honour; a hand-off
#: thread is short).
MAX_MESSAGES = 200


def find_published(client, esc, message, channel_account_id: str, exc: HubSpotError) -> dict | None:
    """HubSpot's copy of `message`, or None. Errors of the look-up itself are logged and read as
    "not found", except transient ones, raised so the task retries (the publish is idempotent)."""
    if isinstance(exc, HubSpotAuthError):
        return None  # the token cannot read the thread either
    try:
        for thread_id in _candidate_threads(client, esc):
            for item in islice(client.iter_thread_messages(thread_id), MAX_MESSAGES):
                if _is_ours(item, message, channel_account_id):
                    log.info(
                        "escalation %s: message #%s was already in HubSpot (%s) although the replay "
                        "was refused (%s)",
                        esc.pk,
                        message.position,
                        item.get("id"),
                        exc,
                    )
                    return {
                        **item,
                        "conversationsThreadId": str(item.get("conversationsThreadId") or thread_id),
                    }
    except HubSpotNotFound:
        return None
    except HubSpotError as lookup_error:
        if lookup_error.retryable:
            raise
        log.warning("escalation %s: could not look the refused message up: %s", esc.pk, lookup_error)
    return None


def _candidate_threads(client, esc):
    if esc.hubspot_thread_id:
        yield esc.hubspot_thread_id
        return
    if not esc.inbox_id or not esc.hubspot_contact_id:
        return
    threads = client.iter_threads(
        inbox_ids=[esc.inbox.inbox_id], associated_contact_id=esc.hubspot_contact_id, sort=["-id"]
    )
    for thread in islice(threads, MAX_THREADS):
        yield str(thread["id"])


def _is_ours(item: dict, message, channel_account_id: str) -> bool:
    if item.get("type") != "MESSAGE" or item.get("direction") != "INCOMING":
        return False
    if str(item.get("channelAccountId") or channel_account_id) != str(channel_account_id):
        return False
    if (item.get("text") or "") != message.text:
        return False
    sent = parse_iso(format_timestamp(message.sent_at))
    return parse_iso(item.get("createdAt")) == sent
