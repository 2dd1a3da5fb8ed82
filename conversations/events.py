"""Appending the events a bot receives: numbered 1, 2, 3… per escalation, one per cause.

`emit()` is the only way events are created. It bumps the escalation's counter with an UPDATE
first, which takes the row's write lock on PostgreSQL and the database write lock on SQLite, so
concurrent emitters serialise there and sequences have no gaps or repeats. The `dedupe_key`
names the cause (an agent message id, "opened", "closed"…): a duplicate or replayed HubSpot
webhook reaching this point finds its event already there and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conversations.models import DeliveryStatus, Escalation, EscalationEvent

logger = logging.getLogger(__name__)


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
