"""Celery tasks publishing the bot side to HubSpot, closing threads, and sweeping stragglers.

All are idempotent (publishing is keyed by integrationIdempotencyId, closing a closed thread is a
no-op), hence `acks_late`. Retryable HubSpot failures (429, 5xx, network, after the client's own
retries) retry with exponential backoff, bounded; messages left pending after that, or by an eager
run (embedded install: no worker, and a request must not sleep through backoffs), are picked up by
`sweep_pending_publishes`; a thread close still owed (Escalation.hubspot_close_pending) by
`sweep_owed_thread_closes`. Beat runs both every minute (CELERY_BEAT_SCHEDULE), for work older
than HITL_SWEEP_GRACE_SECONDS.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError, HubSpotNotFound, Transport
from connections.hubspot.countdown import task_countdown
from conversations import publishing
from conversations.models import (
    Escalation,
    EscalationMessage,
    EscalationStatus,
    MessageDirection,
    PublishStatus,
)
from core import jobs

log = logging.getLogger(__name__)

MAX_RETRIES = 8  # eight retries span about four minutes; what is still pending then is the sweep's


def _retry_or_leave(task, exc: Exception, what: str, escalation_id: str):
    if task.request.is_eager:
        log.warning("%s for escalation %s left for the sweep: %s", what, escalation_id, exc)
        return 0
    raise task.retry(exc=exc, countdown=task_countdown(task.request.retries, exc))


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def publish_escalation(self, escalation_id: str) -> int:
    """Publish the escalation's pending messages in order. Returns how many were published."""
    try:
        return publishing.publish_pending(escalation_id)
    except Escalation.DoesNotExist:
        return 0
    except (*RETRYABLE_ERRORS, publishing.NotReady) as exc:
        return _retry_or_leave(self, exc, "publish", escalation_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def close_hubspot_thread(self, escalation_id: str) -> bool:
    """After the bot closed: flush what it sent before closing, then close the HubSpot thread.

    Returns True if HubSpot confirmed the close now. Closing a closed thread is success (HubSpot
    answers it like any update), so a duplicate from the sweep costs one call.
    """
    try:
        esc = Escalation.objects.select_related("connection").get(pk=escalation_id)
        if esc.hubspot_closed_at:
            return False  # confirmed already: a duplicate task
        publishing.publish_pending(escalation_id)
        esc.refresh_from_db(fields=["hubspot_thread_id"])
        if not esc.hubspot_thread_id:
            # HubSpot never saw it: nothing to close. Unless a publish that began before the bot
            # closed is still creating the thread: within the grace the close stays owed, and the
            # sweep's run after it finds the thread (or settles it).
            if esc.closed_at and esc.closed_at < timezone.now() - _grace():
                _close_settled(escalation_id)
            return False
        HubSpotClient.for_connection(esc.connection, transport=Transport.for_task()).close_thread(
            esc.hubspot_thread_id
        )
        _close_settled(escalation_id, closed_at=timezone.now())
        return True
    except Escalation.DoesNotExist:
        return False
    except HubSpotNotFound:
        _close_settled(escalation_id, error="The HubSpot thread no longer exists (deleted in HubSpot).")
        return False
    except (*RETRYABLE_ERRORS, publishing.NotReady) as exc:
        # Still owed (hubspot_close_pending): after the last retry, or in eager mode, the sweep
        # queues it again.
        return _retry_or_leave(self, exc, "close", escalation_id)
    except HubSpotError as exc:
        # A refusal (400 archived thread, 403 scope, 401 revoked…): the same call cannot succeed
        # later, so it is recorded for the admin's timeline instead of retried forever.
        log.warning("closing the thread of escalation %s refused: %s", escalation_id, exc)
        _close_settled(escalation_id, error=f"HubSpot refused to close the thread: {exc}")
        return False


def _close_settled(escalation_id: str, *, closed_at=None, error: str = "") -> None:
    """The owed close is done with: confirmed, not needed, or refused for good."""
    Escalation.objects.filter(pk=escalation_id).update(
        hubspot_close_pending=False, hubspot_closed_at=closed_at, hubspot_close_error=error
    )


def owed_close_ids(*, now: dt.datetime | None = None) -> list[str]:
    """Escalations whose HubSpot thread close is owed and older than the grace (oldest first):
    younger ones may still have their task in the queue."""
    cutoff = (now or timezone.now()) - _grace()
    ids = Escalation.objects.filter(hubspot_close_pending=True, closed_at__lt=cutoff).order_by("closed_at")
    return [str(pk) for pk in ids.values_list("pk", flat=True)]


@shared_task(acks_late=True, ignore_result=True)
def sweep_owed_thread_closes() -> int:
    """Queue the close task for owed HubSpot thread closes whose task was lost (broker down at
    enqueue time or restarted, retries given up, an eager run that could not reach HubSpot).
    Returns how many were queued."""
    count = 0
    for escalation_id in owed_close_ids():
        count += jobs.enqueue(
            jobs.CLOSE_HUBSPOT_THREAD, escalation_id, what=f"thread close of escalation {escalation_id}"
        )
    return count


@shared_task(acks_late=True, ignore_result=True)
def sweep_pending_publishes() -> int:
    """Queue a publish for escalations whose messages have waited too long. Returns how many."""
    cutoff = timezone.now() - _grace()
    ids = (
        EscalationMessage.objects.filter(
            direction=MessageDirection.TO_AGENT, publish_status=PublishStatus.PENDING, created_at__lt=cutoff
        )
        .exclude(escalation__status=EscalationStatus.FAILED)
        .values_list("escalation_id", flat=True)
        .distinct()
    )
    count = 0
    for escalation_id in ids:
        count += jobs.enqueue(
            jobs.PUBLISH_ESCALATION, str(escalation_id), what=f"publish of escalation {escalation_id}"
        )
    return count


def _grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.HITL_SWEEP_GRACE_SECONDS)


__all__ = [
    "close_hubspot_thread",
    "publish_escalation",
    "sweep_owed_thread_closes",
    "sweep_pending_publishes",
]
