"""The order and retry policy of callbacks: per escalation, one event at a time, in sequence order.

* **Order.** Only the lowest-sequence PENDING event of an escalation is ever sent. Event N+1 is
  POSTed only once N is DELIVERED (2xx) or given up (FAILED); the first failure stops the run.
* **Retries.** A failed attempt schedules the next one after HITL_CALLBACK_RETRY_SCHEDULE (10 s,
  30 s, 1 min, 5 min, 15 min, then hourly, each jittered by up to -20 %). Every non-2xx answer,
  timeout, connection error or refused URL counts as a failure.
* **Giving up.** An attempt that fails when the event is older than HITL_CALLBACK_MAX_AGE_HOURS
  (at least 24 h) and has had the whole schedule of retries (counted since the last manual retry)
  marks it FAILED, and delivery **continues with N+1**: holding every later event
  forever behind one the bot never accepted would stall the conversation, and a bot that missed
  one can pull it from `GET /escalations/{id}/events/?after=`. (`retry_event()` re-queues it.)
* **No double POST.** An event is claimed before it is sent, with one conditional UPDATE that
  picks the escalation's lowest-sequence PENDING event and moves its `next_attempt_at` a lease
  ahead (only a row that is still PENDING and due matches), returning the event to send. Two
  workers, a redelivered task and the sweep racing for the same escalation: one UPDATE wins, the
  others match nothing and stop. No row lock is held across the HTTP call (which would pin a
  transaction and, on SQLite, the database, for up to 13 s).
* **A lost worker's event comes back within seconds.** The lease is short
  (HITL_CALLBACK_CLAIM_LEASE_SECONDS, 6 s) and a thread renews it every third of it while the POST
  runs, so a slow bot keeps its claim however long it takes to answer, and the event of a worker
  killed mid-POST is due again at most one lease after the kill; the callbacks sweep
  (every HITL_CALLBACK_SWEEP_SECONDS, 5 s) sends it then. Delivery is at least once: the bot may
  have had the cut-off POST, and dedupes by `X-HITL-Event-Id`.
* **Warm shutdown.** A worker asked to stop finishes the POST in flight, claims nothing more and
  queues the rest of the run at once for another worker (`stop_claiming`).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone

from conversations import callbacks, message_status
from conversations.models import CallbackAttempt, DeliveryStatus, Escalation, EscalationEvent
from core import jobs, leases, metrics

# Timers fire a little early; a countdown retry this much before its time still counts as due.
DUE_SLACK_SECONDS = 1
# One run stops after this long and asks to be re-queued, staying under the task time limits.
RUN_BUDGET_SECONDS = 60


logger = logging.getLogger(__name__)
# Set when the worker is asked to stop (warm shutdown): runs stop claiming (see the docstring).
_stopping = threading.Event()


def stop_claiming() -> None:
    _stopping.set()


def claim_lease_seconds(*, renewed: bool = True) -> float:
    """How long a claim holds (HITL_CALLBACK_CLAIM_LEASE_SECONDS, at least 3 s): renewed while the
    POST runs, so short, and the event of a worker killed mid-POST is retried soon. A claim that
    cannot be renewed (see `_renewing`) holds for the whole attempt instead: connect + read
    timeout + 2 s."""
    lease = max(settings.HITL_CALLBACK_CLAIM_LEASE_SECONDS, 3)
    if renewed:
        return lease
    return max(lease, settings.HITL_CALLBACK_CONNECT_TIMEOUT + settings.HITL_CALLBACK_READ_TIMEOUT + 2)


def retry_delay(failures: int) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1-based), with jitter."""
    schedule = settings.HITL_CALLBACK_RETRY_SCHEDULE
    base = schedule[min(max(failures, 1), len(schedule)) - 1]
    # Jitter spreads retries of many escalations whose bot went down at the same moment.
    return base * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not security


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=max(settings.HITL_CALLBACK_MAX_AGE_HOURS, 24))


@dataclass
class DeliveryRun:
    """What one `deliver_pending` call did."""

    delivered: list[int] = field(default_factory=list)  # sequences
    failed: list[int] = field(default_factory=list)  # sequences given up
    attempts: int = 0
    retry_in: float | None = None  # seconds until the blocking event is due again, if any


def _claim_first(escalation_id, now: dt.datetime) -> tuple[EscalationEvent | None, dt.datetime | None]:
    """Claim the escalation's lowest-sequence PENDING event for one attempt, in one statement: the
    event (its escalation's callback URL, conversation and connection with it) and the lease's end,
    or (None, None) when there is none, it is not due, or another worker holds it.

    The subquery names the first pending event; the UPDATE takes that row only if it is still
    PENDING and due once its row lock is granted (PostgreSQL re-checks the WHERE on the row's latest
    version), so two workers racing for it cannot both win, and an event behind a pending one is
    never taken. An event whose escalation lost its callback URL is taken whatever its due time,
    to be marked NO_CALLBACK."""
    table = EscalationEvent._meta.db_table
    escalations = Escalation._meta.db_table
    columns = ", ".join(f'"{table}"."{f.column}"' for f in EscalationEvent._meta.concrete_fields)
    of_escalation = f'(SELECT e."{{}}" FROM "{escalations}" e WHERE e."id" = "{table}"."escalation_id")'  # noqa: S608
    sql = (
        f'UPDATE "{table}" SET "next_attempt_at" = %s '  # noqa: S608 - our table names
        f'WHERE "id" = (SELECT "id" FROM "{table}" WHERE "escalation_id" = %s AND "delivery_status" = %s '
        'ORDER BY "sequence" LIMIT 1) '
        f'AND "delivery_status" = %s AND ("next_attempt_at" IS NULL OR "next_attempt_at" <= %s '
        f"OR {of_escalation.format('callback_url')} = '') "
        f'RETURNING {columns}, {of_escalation.format("callback_url")} AS "callback_url", '
        f'{of_escalation.format("conversation_id")} AS "conversation_id", '
        f'{of_escalation.format("connection_id")} AS "connection_id"'
    )
    lease_until = now + dt.timedelta(seconds=claim_lease_seconds(renewed=leases.renewable()))
    pk = Escalation._meta.pk.get_db_prep_value(escalation_id, connection)
    pending = DeliveryStatus.PENDING.value
    due = now + dt.timedelta(seconds=DUE_SLACK_SECONDS)
    params = [lease_until, pk, pending, pending, due]
    event = next(iter(EscalationEvent.objects.raw(sql, params)), None)
    if event is None:
        return None, None
    # The escalation as far as delivery reads it (the envelope, the signing connection, the URL);
    # any other field is deferred, read if something asks for it.
    known = {
        "id": event.escalation_id,
        "callback_url": event.callback_url or "",
        "conversation_id": event.conversation_id,
        "connection_id": event.connection_id,
    }
    names = [f.attname for f in Escalation._meta.concrete_fields if f.attname in known]
    event.escalation = Escalation.from_db(event._state.db, names, [known[n] for n in names])
    return event, lease_until


@contextmanager
def _renewing(event_pk, lease_until: dt.datetime):
    """While the block runs, a thread moves the claim's end a lease ahead every third of a lease.

    Each renewal is conditional on the lease being the one this attempt holds: a claim that has
    meanwhile expired and been taken by another worker is left to it (and renewal stops)."""
    if not leases.renewable():
        yield
        return
    lease = dt.timedelta(seconds=claim_lease_seconds())
    held = lease_until

    def renew() -> bool:
        nonlocal held
        new = timezone.now() + lease
        renewed = EscalationEvent.objects.filter(
            pk=event_pk, delivery_status=DeliveryStatus.PENDING, next_attempt_at=held
        ).update(next_attempt_at=new)
        held = new
        return bool(renewed)

    with leases.renewing(
        renew, every=lease.total_seconds() / 3, name=f"claim-{event_pk}", what=f"event {event_pk}"
    ):
        yield


def deliver_pending(escalation_id, *, task_id: str = "", now=None) -> DeliveryRun:
    """Send the escalation's due events in order until one fails or none is left.

    `now` (a callable returning an aware datetime) lets tests move the clock.
    """
    clock = now or timezone.now
    run = DeliveryRun()
    started = time.monotonic()
    while True:
        if _stopping.is_set() or time.monotonic() - started > RUN_BUDGET_SECONDS:
            run.retry_in = 0  # queued again at once: another worker (or a later run) goes on
            return run
        event, lease_until = _claim_first(escalation_id, clock())
        if event is None:
            # None pending, or the first is not due yet, or another worker holds it. Either way its
            # owner carries on (the countdown queued by the failed attempt, the sweep, or that
            # worker): nothing to queue.
            return run
        url = event.escalation.callback_url
        if not url:
            # The URL was removed after the event was queued: it is pull-only now.
            EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING).update(
                delivery_status=DeliveryStatus.NO_CALLBACK, next_attempt_at=None
            )
            continue
        with _renewing(event.pk, lease_until):
            outcome, attempt = callbacks.post_event(event, url, task_id=task_id)
        run.attempts += 1
        # The attempt and the event's new state commit together (`_record`); HubSpot hears of
        # the message's fate only after that commit, outside any transaction.
        go_on, report = _finish_attempt(event, attempt, outcome.ok, clock(), run)
        if report:
            message_status.report(event, report)
        if not go_on:
            return run


def _record(attempt: CallbackAttempt, event: EscalationEvent, **fields) -> int:
    """Store the attempt and update the event (if still PENDING) in one durable commit; returns
    the events updated (0 or 1). On PostgreSQL one statement in autocommit (the INSERT in a WITH
    before the UPDATE: no BEGIN and COMMIT round trips), both composed by the ORM's compilers;
    elsewhere one transaction."""
    rows = EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            attempt.save()
            return rows.update(**fields)
    insert = InsertQuery(CallbackAttempt)
    insert.insert_values(
        [f for f in CallbackAttempt._meta.local_concrete_fields if not f.primary_key], [attempt]
    )
    [(insert_sql, insert_params)] = insert.get_compiler(connection=connection).as_sql()
    update = rows.query.chain(UpdateQuery)
    update.add_update_values(fields)
    update_sql, update_params = update.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f'WITH "attempt" AS ({insert_sql}) {update_sql}', (*insert_params, *update_params))
        return cursor.rowcount


def _finish_attempt(
    event: EscalationEvent, attempt: CallbackAttempt, ok: bool, at: dt.datetime, run: DeliveryRun
) -> tuple[bool, str | None]:
    """Record the attempt and its result on the event: whether the run may go on with the next
    event, and the status to report to HubSpot for the message behind it (None: nothing to report)."""
    attempts = event.attempts + 1
    if ok:
        changed = _record(
            attempt,
            event,
            delivery_status=DeliveryStatus.DELIVERED,
            delivered_at=at,
            attempts=attempts,
            next_attempt_at=None,
        )
        run.delivered.append(event.sequence)
        metrics.callback_delivered(event.created_at, at)
        return True, message_status.SENT if changed else None
    if at - event.created_at >= max_age() and attempts >= len(settings.HITL_CALLBACK_RETRY_SCHEDULE):
        changed = _record(
            attempt, event, delivery_status=DeliveryStatus.FAILED, attempts=attempts, next_attempt_at=None
        )
        run.failed.append(event.sequence)
        metrics.callback_given_up()
        # given up: the events behind it go on (see the module docstring)
        return True, message_status.FAILED if changed else None
    delay = retry_delay(attempts)
    _record(attempt, event, attempts=attempts, next_attempt_at=at + dt.timedelta(seconds=delay))
    run.retry_in = delay
    return False, None


def due_escalation_ids(*, now: dt.datetime | None = None, limit: int = 1000) -> list:
    """Escalations whose first pending event is due (what the periodic sweep enqueues)."""
    now = now or timezone.now()
    earlier_pending = EscalationEvent.objects.filter(
        escalation_id=OuterRef("escalation_id"),
        delivery_status=DeliveryStatus.PENDING,
        sequence__lt=OuterRef("sequence"),
    )
    # Events never attempted are left to the task emit() enqueued for HITL_SWEEP_GRACE_SECONDS
    # before they count as lost (broker down at commit time, or restarted without its data).
    grace = dt.timedelta(seconds=settings.HITL_SWEEP_GRACE_SECONDS)
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - grace)
    rows = (
        EscalationEvent.objects.filter(delivery_status=DeliveryStatus.PENDING)
        .filter(due)
        .filter(~Exists(earlier_pending))
        .order_by("next_attempt_at")
        .values_list("escalation_id", flat=True)
    )
    return list(dict.fromkeys(rows[:limit]))


# Manual retries (the admin's "retry failed callback deliveries") --------------------------------


def retry_event(event: EscalationEvent) -> bool:
    """Put a FAILED event back in the queue, due now, and enqueue delivery. False if not FAILED.

    It goes out in sequence order with whatever else is pending for its escalation. The attempt
    count restarts, so it gets the whole retry schedule again before being given up.
    """
    changed = EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.FAILED).update(
        delivery_status=DeliveryStatus.PENDING, next_attempt_at=None, attempts=0
    )
    if changed:
        _enqueue(event.escalation_id)
    return bool(changed)


def retry_failed(escalation: Escalation) -> int:
    """Re-queue every FAILED event of the escalation; returns how many."""
    changed = EscalationEvent.objects.filter(
        escalation_id=escalation.pk, delivery_status=DeliveryStatus.FAILED
    ).update(delivery_status=DeliveryStatus.PENDING, next_attempt_at=None, attempts=0)
    if changed:
        _enqueue(escalation.pk)
    return changed


def _enqueue(escalation_id) -> None:
    # The retried events are pending in the database: a broker that is down leaves them to the sweep.
    jobs.enqueue_on_commit(
        jobs.DELIVER_CALLBACKS, str(escalation_id), what=f"delivery of escalation {escalation_id}"
    )


__all__ = [
    "DeliveryRun",
    "deliver_pending",
    "due_escalation_ids",
    "retry_delay",
    "retry_event",
    "retry_failed",
]
