"""The dispatch table: which HubSpot event type does what (one table, as Zulip's
EVENT_FUNCTION_MAPPER is). Supported types are derived from its keys, never listed twice; types we
know and do not need are ignored with a reason; anything else is recorded as ignored, loudly.

`process_event` is idempotent: an event already processed or ignored is left alone, and the
lifecycle functions it calls change nothing when re-applied.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from conversations.models import HubSpotEvent
from conversations.processing import channel, threads
from conversations.processing.context import NOT_OURS, Context, Outcome
from conversations.processing.routing import connection_for, escalation_with_connection
from core import metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    run: Callable[[Context], Outcome]
    #: Finds the escalation the event is about (None: the event is not about a thread).
    find_escalation: Callable[[Context], object] | None = None
    #: Without an escalation the event is "not ours" and touches nothing.
    requires_escalation: bool = True
    #: Finds the escalation with its connection in one query, when the event names enough (None:
    #: route step by step, the connection first).
    route: Callable[[HubSpotEvent], object] | None = None


EVENT_HANDLERS: dict[str, Handler] = {
    # App subscriptions (contract §9.3); objectId is the thread id.
    "conversation.creation": Handler(threads.on_creation, threads.find_escalation, requires_escalation=False),
    "conversation.propertyChange": Handler(threads.on_property_change, threads.find_escalation),
    "conversation.newMessage": Handler(threads.on_new_message, threads.find_escalation),
    "conversation.deletion": Handler(threads.on_deletion, threads.find_escalation),
    # Custom-channel webhooks (contract §5.4).
    "OUTGOING_CHANNEL_MESSAGE_CREATED": Handler(
        channel.on_outgoing_message, channel.find_escalation, route=escalation_with_connection
    ),
    "CHANNEL_ACCOUNT_CREATED": Handler(channel.on_channel_account, requires_escalation=False),
    "CHANNEL_ACCOUNT_UPDATED": Handler(channel.on_channel_account, requires_escalation=False),
    "CHANNEL_ACCOUNT_PURGED": Handler(channel.on_channel_account, requires_escalation=False),
}
SUPPORTED_EVENT_TYPES = tuple(EVENT_HANDLERS)

IGNORED_EVENT_TYPES: dict[str, str] = {
    "conversation.privacyDeletion": "HubSpot erases the thread itself; we keep no copy of it to erase",
    "conversation.restore": "a restored thread does not reopen a closed escalation",
    "conversation.merge": "merged threads are not relayed",
}


def process_event(event: HubSpotEvent, *, record: bool = True) -> Outcome:
    """Apply one stored event and record the outcome on it. HubSpot errors propagate (the task
    decides whether to retry); the event then stays pending with the error in `result`.

    With `record=False` the caller records the outcome later with `record_outcome` (the task
    records a batch's outcomes in one transaction). Until then the event is still pending: a
    worker lost in between leaves it to be applied again, which the lifecycle makes a no-op."""
    if event.status in (HubSpotEvent.Status.PROCESSED, HubSpotEvent.Status.IGNORED):
        return Outcome(event.status, event.result)
    # Counted in memory now, written with the outcome (or the failure): one UPDATE per event.
    event.attempts += 1
    outcome = _apply(event)
    if record:
        record_outcome(event, outcome)
    return outcome


def _apply(event: HubSpotEvent) -> Outcome:
    if event.event_type in IGNORED_EVENT_TYPES:
        return Outcome.ignored(IGNORED_EVENT_TYPES[event.event_type])
    handler = EVENT_HANDLERS.get(event.event_type)
    if handler is None:
        logger.warning("unsupported HubSpot event type %r (event %s)", event.event_type, event.pk)
        return Outcome.ignored(f"unsupported event type {event.event_type!r}")
    routed = handler.route(event) if handler.route is not None else None
    connection = routed.connection if routed is not None else connection_for(event)
    if connection is None:
        return Outcome.ignored(f"no connection for portal {event.portal_id} through this app")
    event.connection = connection
    ctx = Context(event=event, connection=connection, escalation=routed)
    if routed is None and handler.find_escalation is not None:
        ctx.escalation = handler.find_escalation(ctx)
    event.escalation = ctx.escalation
    if handler.requires_escalation and ctx.escalation is None:
        return Outcome.ignored(NOT_OURS)
    outcome = handler.run(ctx)
    event.escalation = ctx.escalation
    if ctx.notes:
        outcome.result = f"{outcome.result} ({'; '.join(ctx.notes)})"
    return outcome


def mark_outcome(event: HubSpotEvent, outcome: Outcome, at) -> None:
    """The outcome on the instance, as `record_outcome` stores it (the task stores a batch's at once)."""
    event.status = outcome.status
    event.result = outcome.result[:2000]
    event.processed_at = at


def record_outcome(event: HubSpotEvent, outcome: Outcome) -> None:
    mark_outcome(event, outcome, timezone.now())
    HubSpotEvent.objects.filter(pk=event.pk).update(
        status=event.status,
        result=event.result,
        processed_at=event.processed_at,
        retry_at=None,
        claimed_until=None,
        connection_id=event.connection_id,
        escalation_id=event.escalation_id,
        attempts=F("attempts") + 1,
    )
    metrics.webhook_event_processed(event.created_at, event.processed_at)


def record_failure(event: HubSpotEvent, message: str, *, final: bool, retry_in: float | None = None) -> None:
    """Note an error on the event: still pending (a retry is due in `retry_in` seconds) or failed
    for good. The attempt that failed is counted here (`process_event` counts it only in memory)."""
    fields = {"result": message[:2000], "attempts": F("attempts") + 1, "retry_at": None}
    fields["claimed_until"] = None  # the task is done with it; a retry due is its next owner
    if final:
        fields |= {"status": HubSpotEvent.Status.FAILED, "processed_at": timezone.now()}
    elif retry_in is not None:
        fields["retry_at"] = timezone.now() + dt.timedelta(seconds=retry_in)
    HubSpotEvent.objects.filter(pk=event.pk).update(**fields)
