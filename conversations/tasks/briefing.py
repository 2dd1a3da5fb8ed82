"""Celery tasks posting the agent's briefing comment, and the sweep for briefings whose task was lost.

Idempotent (conversations/briefing.py claims each attempt and looks for an earlier comment before
posting again), hence `acks_late`. Temporary HubSpot failures retry with exponential backoff; in
eager mode (no worker) or after the last retry, the sweep re-queues the owed briefing once its due
time is HITL_SWEEP_GRACE_SECONDS past.
"""

from __future__ import annotations

import logging

from celery import shared_task

from conversations import briefing
from core import jobs

log = logging.getLogger(__name__)

MAX_RETRIES = 8
MAX_COUNTDOWN_SECONDS = 15 * 60


def _countdown(retries: int) -> float:
    return min(5 * 2**retries, MAX_COUNTDOWN_SECONDS)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def post_briefing(self, escalation_id: str) -> bool:
    """Post the escalation's briefing comment if owed. True if posted now."""
    countdown = _countdown(self.request.retries)
    try:
        return briefing.post(escalation_id, retry_in=countdown)
    except briefing.Retry as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            log.warning("briefing of escalation %s left for the sweep: %s", escalation_id, exc)
            return False
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(acks_late=True, ignore_result=True)
def sweep_owed_briefings() -> int:
    """Queue the briefing task for owed briefings whose task was lost. Returns how many."""
    count = 0
    for escalation_id in briefing.owed_ids():
        count += jobs.enqueue(
            jobs.POST_BRIEFING, escalation_id, what=f"briefing of escalation {escalation_id}"
        )
    return count


__all__ = ["post_briefing", "sweep_owed_briefings"]
