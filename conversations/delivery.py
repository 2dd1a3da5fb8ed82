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
  moves `next_attempt_at` a lease ahead (only a row that is still PENDING and due matches). Two
  workers, a redelivered task and the sweep racing for the same escalation: one UPDATE wins, the
  others match nothing and stop. No row lock is held across the HTTP call (which would pin a
  transaction and, on SQLite, the database, for up to 13 s). A worker that dies mid-attempt leaves
  the lease to expire; the sweep then retries it, so delivery is at least once: bots dedupe by
  `X-HITL-Event-Id`.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from conversations import callbacks, message_status
from conversations.enqueue import enqueue_on_commit
from conversations.models import DeliveryStatus, Escalation, EscalationEvent
from core import metrics

# Timers fire a little early; a countdown retry this much before its time still counts as due.
DUE_SLACK_SECONDS = 1
# One run stops after this long and asks to be re-queued, staying under the task time limits.
RUN_BUDGET_SECONDS = 60


def claim_lease_seconds() -> float:
    """How long a claim holds (HITL_CALLBACK_CLAIM_LEASE_SECONDS): longer than one attempt can take
    (connect + read timeout + recording), so a claim does not expire under a live attempt; short
    enough that the event of a worker killed mid-POST is retried soon (by the sweep)."""
    floor = settings.HITL_CALLBACK_CONNECT_TIMEOUT + settings.HITL_CALLBACK_READ_TIMEOUT + 2
    return max(settings.HITL_CALLBACK_CLAIM_LEASE_SECONDS, floor)


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


def _first_pending(escalation_id) -> EscalationEvent | None:
    return (
        EscalationEvent.objects.filter(escalation_id=escalation_id, delivery_status=DeliveryStatus.PENDING)
        .select_related("escalation")
        .order_by("sequence")
        .first()
    )


def _claim(event: EscalationEvent, now: dt.datetime) -> bool:
    slack = dt.timedelta(seconds=DUE_SLACK_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + slack)
    lease_until = now + dt.timedelta(seconds=claim_lease_seconds())
    claimed = (
        EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING)
        .filter(due)
        .update(next_attempt_at=lease_until)
    )
    return bool(claimed)


def deliver_pending(escalation_id, *, task_id: str = "", now=None) -> DeliveryRun:
    """Send the escalation's due events in order until one fails or none is left.

    `now` (a callable returning an aware datetime) lets tests move the clock.
    """
    clock = now or timezone.now
    run = DeliveryRun()
    started = time.monotonic()
    while True:
        event = _first_pending(escalation_id)
        if event is None:
            return run
        url = event.escalation.callback_url
        if not url:
            # The URL was removed after the event was queued: it is pull-only now.
            EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING).update(
                delivery_status=DeliveryStatus.NO_CALLBACK, next_attempt_at=None
            )
            continue
        if time.monotonic() - started > RUN_BUDGET_SECONDS:
            run.retry_in = 0
            return run
        current = clock()
        if not _claim(event, current):
            # Not due yet, or another worker holds it. Either way its owner carries on (the
            # countdown queued by the failed attempt, the sweep, or that worker): nothing to queue.
            return run
        outcome, _ = callbacks.send_event(event, url, task_id=task_id)
        run.attempts += 1
        if not _finish_attempt(event, outcome.ok, clock(), run):
            return run


def _finish_attempt(event: EscalationEvent, ok: bool, at: dt.datetime, run: DeliveryRun) -> bool:
    """Record the result on the event; True if the run may go on with the next event."""
    attempts = event.attempts + 1
    rows = EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING)
    if ok:
        if rows.update(
            delivery_status=DeliveryStatus.DELIVERED, delivered_at=at, attempts=attempts, next_attempt_at=None
        ):
            message_status.report_agent_message_status(event, message_status.SENT)
        run.delivered.append(event.sequence)
        metrics.callback_delivered(event.created_at, at)
        return True
    if at - event.created_at >= max_age() and attempts >= len(settings.HITL_CALLBACK_RETRY_SCHEDULE):
        if rows.update(delivery_status=DeliveryStatus.FAILED, attempts=attempts, next_attempt_at=None):
            message_status.report_agent_message_status(event, message_status.FAILED)
        run.failed.append(event.sequence)
        metrics.callback_given_up()
        return True  # given up: the events behind it go on (see the module docstring)
    delay = retry_delay(attempts)
    rows.update(attempts=attempts, next_attempt_at=at + dt.timedelta(seconds=delay))
    run.retry_in = delay
    return False


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
    from conversations.tasks.callbacks import deliver_callbacks

    # The retried events are pending in the database: a broker that is down leaves them to the sweep.
    enqueue_on_commit(deliver_callbacks, str(escalation_id), what=f"delivery of escalation {escalation_id}")


__all__ = [
    "DeliveryRun",
    "deliver_pending",
    "due_escalation_ids",
    "retry_delay",
    "retry_event",
    "retry_failed",
]
