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
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from conversations.models import DeliveryStatus, Escalation, EscalationEvent
from core import jobs, request_id

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
    new_cause: bool = False,
) -> EscalationEvent | None:
    """Append an event (None if this cause already produced one) and schedule its delivery.

    `new_cause=True`: the caller found, under the escalation's row lock, that this cause has no
    event yet (an agent message not recorded), so the look-up is skipped; the unique constraint
    on (escalation, dedupe_key) still refuses a second one. Nothing is then rolled back here, so
    no savepoint is needed inside the caller's transaction (two round trips fewer)."""
    with transaction.atomic(savepoint=not new_cause):
        sequence, callback_url = _next_sequence(escalation.pk)
        if (
            not new_cause
            and EscalationEvent.objects.filter(escalation_id=escalation.pk, dedupe_key=dedupe_key).exists()
        ):
            transaction.set_rollback(True)
            return None
        event = EscalationEvent.objects.create(
            escalation_id=escalation.pk,
            sequence=sequence,
            type=event_type,
            data=data,
            occurred_at=occurred_at or timezone.now(),
            dedupe_key=dedupe_key,
            delivery_status=DeliveryStatus.PENDING if callback_url else DeliveryStatus.NO_CALLBACK,
            request_id=request_id.current(),
        )
        escalation.last_event_sequence = event.sequence
        if callback_url:
            transaction.on_commit(lambda: _schedule_delivery(escalation.pk))
    return event


def _next_sequence(escalation_id) -> tuple[int, str]:
    """Bump the escalation's counter and read it with the callback URL, in one UPDATE … RETURNING
    (PostgreSQL and SQLite 3.35+): the row stays write-locked until the caller's transaction ends."""
    table = Escalation._meta.db_table
    pk = Escalation._meta.pk.get_db_prep_value(escalation_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "last_event_sequence" = "last_event_sequence" + 1 '  # noqa: S608 - our table name
            'WHERE "id" = %s RETURNING "last_event_sequence", "callback_url"',
            [pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Escalation.DoesNotExist(f"escalation {escalation_id} does not exist")
    return row[0], row[1]


def _schedule_delivery(escalation_id) -> None:
    collected = _collected.get()
    if collected is not None:
        collected[escalation_id] = None
        return
    enqueue_delivery(escalation_id)


def enqueue_delivery(escalation_id) -> None:
    """Queue a `deliver_callbacks` task. A broker that cannot take it must not fail the caller's
    work already done (a webhook event marked failed): the callbacks sweep sends events never
    attempted once they are HITL_SWEEP_GRACE_SECONDS old."""
    jobs.enqueue(jobs.DELIVER_CALLBACKS, str(escalation_id), what=f"delivery of escalation {escalation_id}")
