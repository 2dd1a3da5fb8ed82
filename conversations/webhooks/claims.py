"""Who holds a stored HubSpot event, and when the lost-event sweep may take it back.

A pending event is in one of three states, each in its own typed field:

* fresh: neither `claimed_until` nor `retry_at`. A drain claims it (`claim_fresh`); if none does,
  the sweep counts it lost HITL_SWEEP_GRACE_SECONDS after it was stored (the broker was down).
* held: `claimed_until` is the end of a lease. A drain takes it with its claim, and a thread of
  the task processing the event moves it a lease ahead every third of a lease while the task runs
  (`held`), however long a batch takes. It ends when the event's outcome is recorded
  (processing/dispatch.py clears it) or the task hands it to a retry (`release_for_retry`). If the
  worker dies, nothing renews it: the sweep takes the event back once the lease has passed, and
  never before, so a long batch is not queued again while it runs.
* due: `retry_at` is when the task that will process it is due (a retry countdown, or the task the
  sweep queued, `mark_requeued`). The sweep counts it lost once that is overdue by the grace.

Several tasks may hold one event at once (the sweep's task for an event a drain still holds, or a
later event of the thread taking the earlier pending ones along): processing is idempotent, and a
lease is only "someone is working on it until", not a lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from conversations.models import HubSpotEvent
from core import leases


def lease_seconds(*, renewed: bool = True) -> float:
    """HITL_WEBHOOK_CLAIM_LEASE_SECONDS (at least 1 s). A lease that cannot be renewed (see
    `core.leases.renewable`) covers the longest a task may run instead: Celery's hard time limit."""
    lease = max(settings.HITL_WEBHOOK_CLAIM_LEASE_SECONDS, 1)
    return lease if renewed else max(lease, settings.CELERY_TASK_TIME_LIMIT)


def claim_fresh(limit: int) -> list[int]:
    """Hold up to `limit` fresh events (no task given them), oldest first, in one statement;
    concurrent drains skip each other's rows (SKIP LOCKED)."""
    table = HubSpotEvent._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = (
        f'UPDATE "{table}" SET "claimed_until" = %s WHERE "id" IN ('  # noqa: S608 - our table name
        f'SELECT "id" FROM "{table}" WHERE "status" = %s AND "retry_at" IS NULL '
        f'AND "claimed_until" IS NULL ORDER BY "id" LIMIT %s{lock}) RETURNING "id"'
    )
    until = timezone.now() + dt.timedelta(seconds=lease_seconds(renewed=leases.renewable()))
    with connection.cursor() as cursor:
        cursor.execute(sql, [until, HubSpotEvent.Status.PENDING.value, limit])
        return sorted(row[0] for row in cursor.fetchall())


@contextmanager
def held(event_ids: list[int]) -> Iterator[None]:
    """Hold the pending ones among the events while the block processes them: a thread moves their
    lease's end a lease ahead every third of a lease until the block ends, however long it runs.

    The first move also takes the hold of events no drain claimed (a retry, the sweep's task, ones
    taken along): not at the start, so a short task adds no commit of its own, and an event's
    `retry_at` (this task was the one due) is cleared then. The caller releases what is left for a
    retry after the block (`release_for_retry`), once the thread has stopped."""
    if not event_ids or not leases.renewable():
        yield
        return
    lease = lease_seconds()

    def renew() -> bool:
        until = timezone.now() + dt.timedelta(seconds=lease)
        pending = HubSpotEvent.objects.filter(pk__in=event_ids, status=HubSpotEvent.Status.PENDING)
        return bool(pending.update(claimed_until=until, retry_at=None))

    with leases.renewing(
        renew, every=lease / 3, name="webhook-events-lease", what=f"{len(event_ids)} HubSpot event(s)"
    ):
        yield


def release_for_retry(event_ids: list[int], due: dt.datetime) -> None:
    """The pending ones among the events handed to a retry task due at `due`."""
    HubSpotEvent.objects.filter(pk__in=event_ids, status=HubSpotEvent.Status.PENDING).update(
        claimed_until=None, retry_at=due
    )


def mark_requeued(event_ids: list[int]) -> None:
    """The sweep queued a task for the events: it is due now, so the next ticks leave them to it for
    a grace period (then they count as lost again: its message was lost too)."""
    HubSpotEvent.objects.filter(pk__in=event_ids, status=HubSpotEvent.Status.PENDING).update(
        claimed_until=None, retry_at=timezone.now()
    )


def lost_event_ids(*, now: dt.datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending events whose processing task is presumed lost, oldest first: a fresh one stored
    longer ago than the grace, a due one overdue by the grace, a held one whose lease has passed."""
    now = now or timezone.now()
    grace_ago = now - dt.timedelta(seconds=settings.HITL_SWEEP_GRACE_SECONDS)
    waited = Q(retry_at__isnull=True, created_at__lte=grace_ago) | Q(retry_at__lte=grace_ago)
    lost = Q(claimed_until__isnull=True) & waited | Q(claimed_until__lte=now)
    rows = HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).filter(lost)
    return list(rows.order_by("created_at", "pk").values_list("pk", flat=True)[:limit])
