"""Celery tasks publishing the bot side to HubSpot, closing threads, and sweeping stragglers.

All are idempotent (publishing is keyed by integrationIdempotencyId, closing a closed thread is a
no-op), hence `acks_late`. Retryable HubSpot failures (429, 5xx, network, after the client's own
retries) retry with exponential backoff, bounded; messages left pending after that, or by an eager
run (embedded install: no worker, and a request must not sleep through backoffs), are picked up by
`sweep_pending_publishes` (schedule it every minute or so in the admin's periodic tasks).
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError, HubSpotNotFound
from conversations import publishing
from conversations.models import (
    Escalation,
    EscalationMessage,
    EscalationStatus,
    MessageDirection,
    PublishStatus,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 8
MAX_COUNTDOWN_SECONDS = 15 * 60  # below the Redis visibility timeout (1 h)
SWEEP_AGE = dt.timedelta(minutes=2)


def _countdown(retries: int, exc: Exception) -> float:
    backoff = min(5 * 2**retries, MAX_COUNTDOWN_SECONDS)
    retry_after = getattr(exc, "retry_after", None) or 0
    return min(max(backoff, retry_after), MAX_COUNTDOWN_SECONDS)


def _retry_or_leave(task, exc: Exception, what: str, escalation_id: str):
    if task.request.is_eager:
        log.warning("%s for escalation %s left for the sweep: %s", what, escalation_id, exc)
        return 0
    raise task.retry(exc=exc, countdown=_countdown(task.request.retries, exc))


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
    """After the bot closed: flush what it sent before closing, then close the HubSpot thread."""
    try:
        publishing.publish_pending(escalation_id)
        esc = Escalation.objects.select_related("connection").get(pk=escalation_id)
        if not esc.hubspot_thread_id:
            return False  # HubSpot never saw it: nothing to close
        HubSpotClient.for_connection(esc.connection).close_thread(esc.hubspot_thread_id)
        return True
    except Escalation.DoesNotExist:
        return False
    except HubSpotNotFound:
        return False  # deleted in HubSpot meanwhile: closed enough
    except (*RETRYABLE_ERRORS, publishing.NotReady) as exc:
        return _retry_or_leave(self, exc, "close", escalation_id)
    except HubSpotError as exc:
        log.warning("closing the thread of escalation %s refused: %s", escalation_id, exc)
        return False


@shared_task(acks_late=True, ignore_result=True)
def sweep_pending_publishes() -> int:
    """Queue a publish for escalations whose messages have waited too long. Returns how many."""
    cutoff = timezone.now() - SWEEP_AGE
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
        publish_escalation.delay(str(escalation_id))
        count += 1
    return count


__all__ = ["close_hubspot_thread", "publish_escalation", "sweep_pending_publishes"]
