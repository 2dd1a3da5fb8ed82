"""Tasks: processing stored HubSpot webhook events (conversations.processing does the work).

`process_hubspot_events(event_ids)` takes ids, re-reads the rows and skips events already
processed or ignored, and everything it applies goes through the idempotent lifecycle, which is
what makes `acks_late` safe: a redelivered message re-runs finished work as a no-op.

Retries: HubSpot errors worth retrying (RETRYABLE_ERRORS: network, 5xx, 429,
already retried per call by the client) re-run the task after an exponential, jittered countdown
capped well below Redis' 1 h visibility timeout; the event stays pending with the error in
`result`. After MAX_RETRIES it is marked failed. Other HubSpot errors (404, 401…) and bugs mark
that event failed at once and processing moves on to the next event.

Lost tasks (the safety net under the retries): `sweep_pending_webhook_events` (beat, every minute)
re-enqueues events still pending HITL_SWEEP_GRACE_SECONDS after they were stored whose task
vanished: never enqueued (broker down when the webhook was stored), dropped by a broker restarted
without its data, or killed with its worker mid-run (Redis would redeliver that one only after
its 1 h visibility timeout). An event waiting for a retry countdown is left to it, and one a task
holds (its batch is still running: the lease is renewed while it does) is taken back only once
the lease has passed (conversations/webhooks/claims.py).

Callbacks: the events the lifecycle emits while this task runs are delivered by this task once its
events are done (`events.deliveries_collected`, `tasks.callbacks.deliver_now`), not by one more
task: an agent's reply reaches the bot without a second broker hop. A failed attempt is retried by
a countdown `deliver_callbacks`, as always; a worker killed between the commit and the POST leaves
the event to the callbacks sweep, and a redelivered task delivers for the escalations of its
already-processed events too.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from connections.hubspot import RETRYABLE_ERRORS, HubSpotError
from conversations import events as bot_events
from conversations import message_status
from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.processing.context import Outcome
from conversations.processing.dispatch import mark_outcome, process_event, record_failure, record_outcome
from conversations.webhooks import claims, wakeup
from conversations.webhooks.claims import claim_fresh, lost_event_ids
from core import jobs, metrics

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 15 * 60
DRAIN_BUDGET_SECONDS = 60
# Added to the wake-up memo before a drain's last claim: the web and worker processes measure that
# length on clocks of their own.
MEMO_MARGIN = 0.01
SWEEP_BATCH = 100  # events per re-enqueued task (a webhook brings at most 100)


def countdown(retries: int, retry_after: float | None = None) -> float:
    delay = min(BACKOFF_BASE_SECONDS * 2**retries, BACKOFF_MAX_SECONDS)
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)


class _Deferred(Exception):
    """A retryable HubSpot error: the events are to run again after `delay` seconds."""

    def __init__(self, exc: Exception, delay: float):
        super().__init__(str(exc))
        self.exc, self.delay = exc, delay
        self.due = timezone.now() + dt.timedelta(seconds=delay)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_hubspot_events(self, event_ids: list[int]) -> dict:
    """Apply events in HubSpot's order of occurrence, after any earlier event about the same thread
    that is still pending (see `_with_earlier_pending`), then deliver the callbacks they caused."""
    try:
        return _handle(self, event_ids)
    except _Deferred as deferred:
        raise self.retry(exc=deferred.exc, countdown=deferred.delay) from None


@shared_task(bind=True, acks_late=True, ignore_result=True)
def drain_hubspot_events(self) -> dict:
    """Process every stored event no task was given, a batch at a time, until none is left: the
    one task a webhook request wakes (conversations/webhooks/wakeup.py) instead of publishing one
    per request.

    Each batch is claimed (`claim_fresh`: held for a lease, renewed while the batch runs, so another
    drain skips it and the lost-event sweep takes it back only if this worker dies). A batch hitting a
    retryable HubSpot error is handed to a `process_hubspot_events` countdown with its ids, like a
    retried task, and the drain stops; so does one that ran DRAIN_BUDGET_SECONDS (one task must not
    hold a worker forever under steady load): either wakes a new drain for what may be left."""
    counts: dict[str, int] = {}
    started = time.monotonic()
    while True:
        cleared = time.monotonic()
        wakeup.clear()  # before the claim: see wakeup's docstring for why this order is race-free
        batch = claim_fresh(settings.HITL_WEBHOOK_DRAIN_BATCH)
        if not batch:
            # Web processes that saw the flag before this clear may skip asking for a memo's length
            # (wakeup's docstring): one more claim, not clearing, once that has passed since it.
            time.sleep(
                max(0.0, cleared + settings.HITL_WEBHOOK_WAKEUP_MEMO_SECONDS + MEMO_MARGIN - time.monotonic())
            )
            batch = claim_fresh(settings.HITL_WEBHOOK_DRAIN_BATCH)
            if not batch:
                return counts
        try:
            done = _handle(self, batch, retries=0)
        except _Deferred as deferred:
            jobs.enqueue(
                jobs.PROCESS_HUBSPOT_EVENTS,
                batch,
                what=f"retry of {len(batch)} drained HubSpot event(s)",
                countdown=deferred.delay,
            )
            wakeup.wake()
            return counts
        for status, n in done.items():
            counts[status] = counts.get(status, 0) + n
        if time.monotonic() - started > DRAIN_BUDGET_SECONDS:
            wakeup.wake()
            return counts


def _handle(task, event_ids: list[int], *, retries: int | None = None) -> dict:
    # Not the app nor the receipt: processing uses neither, and they would cost decrypting the
    # app's secrets and reading the raw webhook body again for every event (the connection found
    # for the event brings its app).
    events = _with_earlier_pending(list(HubSpotEvent.objects.filter(pk__in=event_ids)))
    with bot_events.deliveries_collected() as emitted:
        pending = [e.pk for e in events if e.status == HubSpotEvent.Status.PENDING]
        try:
            with claims.held(pending):
                return _process(events, task.request.retries if retries is None else retries)
        except _Deferred as deferred:
            claims.release_for_retry(pending, deferred.due)  # what is still pending of them
            raise
        finally:
            # After the escalations given events now, in commit order: those of every other event
            # of the task. A redelivered task (its worker died after committing) finds its events
            # processed, or applies them again as no-ops, and still delivers what the first run
            # recorded but may not have sent.
            touched = {e.escalation_id: None for e in events if e.escalation_id}
            _deliver(emitted | touched, task_id=task.request.id or "", eager=bool(task.request.is_eager))


def _process(events: list[HubSpotEvent], retries: int) -> dict:
    counts: dict[str, int] = {}
    applied: list[tuple[HubSpotEvent, Outcome]] = []  # outcomes recorded together, see _settle
    for event in events:
        try:
            outcome = process_event(event, record=False)
        except RETRYABLE_ERRORS as exc:
            final = retries >= MAX_RETRIES
            delay = countdown(retries, exc.retry_after)
            message = f"HubSpot unavailable (attempt {event.attempts}): {exc}"
            record_failure(event, message, final=final, retry_in=None if final else delay)
            if final:
                counts["failed"] = counts.get("failed", 0) + 1
                continue
            _settle(applied, events)
            raise _Deferred(exc, delay) from None
        except HubSpotError as exc:
            record_failure(event, f"HubSpot refused: {exc}", final=True)
            counts["failed"] = counts.get("failed", 0) + 1
            continue
        except Exception as exc:
            logger.exception("processing HubSpot event %s failed", event.pk)
            record_failure(event, f"{type(exc).__name__}: {exc}", final=True)
            counts["failed"] = counts.get("failed", 0) + 1
            continue
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if event.status == HubSpotEvent.Status.PENDING:  # not one processed before (a redelivery)
            applied.append((event, outcome))
    _settle(applied, events)
    return counts


def _settle(applied: list[tuple[HubSpotEvent, Outcome]], events: list[HubSpotEvent]) -> None:
    """Record the outcomes of the events applied and finish their receipts in one transaction: one
    durable commit per task instead of one per event plus one per receipt. (Each event's own changes,
    a reply and the bot's event, committed when it was applied.)"""
    if connection.vendor == "postgresql":
        _settle_in_one_statement(applied, events)
        return
    with transaction.atomic():
        for event, outcome in applied:
            record_outcome(event, outcome)
        _finish_receipts(events)


def _settle_in_one_statement(applied: list[tuple[HubSpotEvent, Outcome]], events: list[HubSpotEvent]) -> None:
    """`_settle` on PostgreSQL: one statement in autocommit, so one durable commit and no BEGIN and
    COMMIT round trips. The outcomes go in as VALUES; the receipts' UPDATE reads the events as they
    were before the statement (one snapshot for all its parts), so the events it just settled are
    taken from the outcomes' RETURNING instead of the table."""
    if not applied:
        _finish_receipts(events)
        return
    now = timezone.now()
    outcomes = []
    for event, outcome in applied:
        mark_outcome(event, outcome, now)
        outcomes.append((event.pk, event.status, event.result, event.connection_id, event.escalation_id))
    e, r = HubSpotEvent._meta.db_table, WebhookReceipt._meta.db_table
    escalation_pk = HubSpotEvent._meta.get_field("escalation").target_field
    rows = ", ".join(["(%s::bigint, %s::varchar, %s::text, %s::bigint, %s::uuid)"] * len(outcomes))
    params: list = []
    for pk, status, result, connection_id, escalation_id in outcomes:
        escalation_id = escalation_pk.get_db_prep_value(escalation_id, connection) if escalation_id else None
        params += [pk, status, result, connection_id, escalation_id]
    others = (
        f'SELECT 1 FROM "{e}" x WHERE x."receipt_id" = r."id" AND x."status" = %s '  # noqa: S608 - our table
        'AND x."id" NOT IN (SELECT "id" FROM "done")'
    )
    sql = (
        f'WITH "o" ("id", "status", "result", "connection_id", "escalation_id") AS (VALUES {rows}), '  # noqa: S608 - our table names
        f'"done" AS (UPDATE "{e}" SET "status" = "o"."status", "result" = "o"."result", "processed_at" = %s, '
        '"retry_at" = NULL, "claimed_until" = NULL, "connection_id" = "o"."connection_id", '
        f'"escalation_id" = "o"."escalation_id", "attempts" = "{e}"."attempts" + 1 '
        f'FROM "o" WHERE "{e}"."id" = "o"."id" RETURNING "{e}"."id", "{e}"."receipt_id", "{e}"."status") '
        f'UPDATE "{r}" r SET "processed_at" = %s, "status" = CASE WHEN EXISTS (SELECT 1 FROM "done" '
        f'WHERE "done"."receipt_id" = r."id" AND "done"."status" = %s) OR EXISTS ({others}) '
        "THEN %s ELSE %s END "
        f'WHERE r."id" = ANY(%s) AND NOT EXISTS ({others})'
    )
    failed, pending = HubSpotEvent.Status.FAILED.value, HubSpotEvent.Status.PENDING.value
    receipts = sorted({event.receipt_id for event in events})
    params += [
        now,
        now,
        failed,
        failed,
        WebhookReceipt.Status.FAILED.value,
        WebhookReceipt.Status.PROCESSED.value,
        receipts,
        pending,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for event, _ in applied:
        metrics.webhook_event_processed(event.created_at, event.processed_at)


def _deliver(escalation_ids, *, task_id: str, eager: bool) -> None:
    """Send the escalations' pending callbacks from this worker; one that cannot be attempted here
    (a database error) gets a `deliver_callbacks` task instead."""
    from conversations.tasks.callbacks import deliver_now

    with message_status.reported_after():  # every callback first, then HubSpot's statuses
        for escalation_id in escalation_ids:
            try:
                deliver_now(escalation_id, task_id=task_id, eager=eager)
            except Exception:
                logger.exception("callback delivery of escalation %s failed here; queued", escalation_id)
                bot_events.enqueue_delivery(escalation_id)


def _with_earlier_pending(events: list[HubSpotEvent]) -> list[HubSpotEvent]:
    """The events plus every pending one about the same thread that occurred before the latest of
    them, sorted by occurrence.

    An agent's replies reach the bot in the order they are processed. Processing in order of
    arrival is not enough once a task is lost or retried: the events of a webhook stored while the
    broker was down, or of a worker killed mid-task, wait for the sweep, and a later reply arriving
    meanwhile would overtake them. Taking the earlier ones along keeps each thread in HubSpot's
    order; one that fails with a retryable error makes this task retry too, so nothing overtakes
    it. Running an event twice (it is also queued elsewhere) is a no-op: processing is idempotent.
    """
    latest: dict[tuple[int, str], dt.datetime] = {}
    for event in events:
        if event.object_id and event.occurred_at:
            key = (event.app_id, event.object_id)
            latest[key] = max(latest.get(key, event.occurred_at), event.occurred_at)
    if latest:
        earlier = Q()
        for (app_id, object_id), at in latest.items():
            earlier |= Q(app_id=app_id, object_id=object_id, occurred_at__lt=at)
        known = {e.pk for e in events}
        events += [
            e
            for e in HubSpotEvent.objects.filter(earlier, status=HubSpotEvent.Status.PENDING).exclude(
                pk__in=known
            )
        ]
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(events, key=lambda e: (e.occurred_at or far_future, e.pk))


def _finish_receipts(events: list[HubSpotEvent]) -> None:
    """A receipt is processed once none of its events is pending, failed if any failed: one
    conditional UPDATE per receipt, in SQL (the ORM spent longer composing it than the database
    running it)."""
    receipts, hubspot_events = WebhookReceipt._meta.db_table, HubSpotEvent._meta.db_table
    of_receipt = f'SELECT 1 FROM "{hubspot_events}" e WHERE e."receipt_id" = %s AND e."status" = %s'  # noqa: S608 - our table name
    sql = (
        f'UPDATE "{receipts}" SET "processed_at" = %s, '  # noqa: S608 - our table names
        f'"status" = CASE WHEN EXISTS ({of_receipt}) THEN %s ELSE %s END '
        f'WHERE "id" = %s AND NOT EXISTS ({of_receipt})'
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        for receipt_id in {e.receipt_id for e in events}:
            cursor.execute(
                sql,
                [
                    now,
                    receipt_id,
                    HubSpotEvent.Status.FAILED.value,
                    WebhookReceipt.Status.FAILED.value,
                    WebhookReceipt.Status.PROCESSED.value,
                    receipt_id,
                    receipt_id,
                    HubSpotEvent.Status.PENDING.value,
                ],
            )


@shared_task(acks_late=True, ignore_result=True)
def sweep_pending_webhook_events() -> int:
    """Every minute (beat): re-enqueue processing of events whose task was lost. Returns how many."""
    ids = lost_event_ids()
    for start in range(0, len(ids), SWEEP_BATCH):
        batch = ids[start : start + SWEEP_BATCH]
        if jobs.enqueue(
            jobs.PROCESS_HUBSPOT_EVENTS, batch, what=f"processing of {len(batch)} lost HubSpot event(s)"
        ):
            claims.mark_requeued(batch)
    if ids:
        logger.warning("re-enqueued %d HubSpot event(s) whose processing task was lost", len(ids))
    return len(ids)


__all__ = ["claim_fresh", "drain_hubspot_events", "process_hubspot_events", "sweep_pending_webhook_events"]
