"""Appending the events a bot receives: numbered 1, 2, 3… per escalation, one per cause.

`emit()` is the only way events are created. It bumps the escalation's counter with an UPDATE
first, which takes the row's write lock on PostgreSQL and the database write lock on SQLite, so
concurrent emitters serialise there and sequences have no gaps or repeats. The `dedupe_key`
names the cause (an agent message id, "opened", "closed"…): a duplicate or replayed HubSpot
webhook reaching this point finds its event already there and adds nothing.

Delivery is scheduled when the event commits: a `deliver_callbacks` task, or, inside
`deliveries_collected()` (the webhook-processing task), the escalation is noted for the caller to
deliver in the same worker right after, which saves a broker round trip per agent reply. The
callbacks sweep picks up an event whose delivery was never attempted either way (a broker down, a
worker killed between the commit and the POST).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Iterator

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conversations.models import DeliveryStatus, Escalation, EscalationEvent

logger = logging.getLogger(__name__)

# The escalations whose events committed inside `deliveries_collected()`, in commit order.
_collected: contextvars.ContextVar[dict | None] = contextvars.ContextVar("hitl_deliveries", default=None)


@contextlib.contextmanager
def deliveries_collected() -> Iterator[dict]:
    """Within the block, an event committing does not enqueue its delivery: its escalation id is
    added to the yielded dict (keys, in order), and the caller delivers them. An event committing
    after the block ends (an outer transaction still open) is enqueued as usual."""
    collected: dict = {}
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def emit(
    escalation: Escalation,
    event_type: str,
    data: dict,
    *,
    dedupe_key: str,
    occurred_at: dt.datetime | None = None,
) -> EscalationEvent | None:
    """Append an event (None if this cause already produced one) and schedule its delivery."""
    with transaction.atomic():
        Escalation.objects.filter(pk=escalation.pk).update(last_event_sequence=F("last_event_sequence") + 1)
        if EscalationEvent.objects.filter(escalation_id=escalation.pk, dedupe_key=dedupe_key).exists():
            transaction.set_rollback(True)
            return None
        current = Escalation.objects.values("last_event_sequence", "callback_url").get(pk=escalation.pk)
        event = EscalationEvent.objects.create(
            escalation_id=escalation.pk,
            sequence=current["last_event_sequence"],
            type=event_type,
            data=data,
            occurred_at=occurred_at or timezone.now(),
            dedupe_key=dedupe_key,
            delivery_status=DeliveryStatus.PENDING if current["callback_url"] else DeliveryStatus.NO_CALLBACK,
        )
        escalation.last_event_sequence = event.sequence
        if current["callback_url"]:
            transaction.on_commit(lambda: _schedule_delivery(escalation.pk))
    return event


def _schedule_delivery(escalation_id) -> None:
    collected = _collected.get()
    if collected is not None:
        collected[escalation_id] = None
        return
    enqueue_delivery(escalation_id)


def enqueue_delivery(escalation_id) -> None:
    """Queue a `deliver_callbacks` task; a broker that cannot take it leaves the event to the sweep."""
    from conversations.tasks import deliver_callbacks

    try:
        deliver_callbacks.delay(str(escalation_id))
    except Exception:
        # Broker unavailable after the event was committed: raising here would fail the caller's
        # already-done work (a webhook event marked failed). The callbacks sweep sends events never
        # attempted once they are HITL_SWEEP_GRACE_SECONDS old.
        logger.warning(
            "broker unavailable: delivery of escalation %s left for the sweep", escalation_id, exc_info=True
        )
