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
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from conversations import callbacks, message_status
from conversations.models import DeliveryStatus, Escalation, EscalationEvent
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


def _first_pending(escalation_id) -> EscalationEvent | None:
    return (
        EscalationEvent.objects.filter(escalation_id=escalation_id, delivery_status=DeliveryStatus.PENDING)
        .select_related("escalation")
        .order_by("sequence")
        .first()
    )


def _claim(event: EscalationEvent, now: dt.datetime) -> dt.datetime | None:
    """Claim the event for one attempt; the lease's end, or None if it is not ours to send."""
    slack = dt.timedelta(seconds=DUE_SLACK_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + slack)
    lease_until = now + dt.timedelta(seconds=claim_lease_seconds(renewed=leases.renewable()))
    claimed = (
        EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING)
        .filter(due)
        .update(next_attempt_at=lease_until)
    )
    return lease_until if claimed else None


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
        if _stopping.is_set() or time.monotonic() - started > RUN_BUDGET_SECONDS:
            run.retry_in = 0  # queued again at once: another worker (or a later run) goes on
            return run
        current = clock()
        lease_until = _claim(event, current)
        if lease_until is None:
            # Not due yet, or another worker holds it. Either way its owner carries on (the
            # countdown queued by the failed attempt, the sweep, or that worker): nothing to queue.
            return run
        with _renewing(event.pk, lease_until):
            outcome, attempt = callbacks.post_event(event, url, task_id=task_id)
        run.attempts += 1
        # The attempt and the event's new state commit together (one durable commit per attempt);
        # HubSpot hears of the message's fate only after that commit, outside any transaction.
        with transaction.atomic():
            attempt.save()
            go_on, report = _finish_attempt(event, outcome.ok, clock(), run)
        if report:
            message_status.report(event, report)
        if not go_on:
            return run


def _finish_attempt(
    event: EscalationEvent, ok: bool, at: dt.datetime, run: DeliveryRun
) -> tuple[bool, str | None]:
    """Record the result on the event: whether the run may go on with the next event, and the
    status to report to HubSpot for the message behind it (None: nothing to report)."""
    attempts = event.attempts + 1
    rows = EscalationEvent.objects.filter(pk=event.pk, delivery_status=DeliveryStatus.PENDING)
    if ok:
        changed = rows.update(
            delivery_status=DeliveryStatus.DELIVERED, delivered_at=at, attempts=attempts, next_attempt_at=None
        )
        run.delivered.append(event.sequence)
        metrics.callback_delivered(event.created_at, at)
        return True, message_status.SENT if changed else None
    if at - event.created_at >= max_age() and attempts >= len(settings.HITL_CALLBACK_RETRY_SCHEDULE):
        changed = rows.update(delivery_status=DeliveryStatus.FAILED, attempts=attempts, next_attempt_at=None)
        run.failed.append(event.sequence)
        metrics.callback_given_up()
        # given up: the events behind it go on (see the module docstring)
        return True, message_status.FAILED if changed else None
    delay = retry_delay(attempts)
    rows.update(attempts=attempts, next_attempt_at=at + dt.timedelta(seconds=delay))
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
