"""Celery tasks sending `escalation.queue_updated` (conversations/queue_updates.py).

`refresh_queue` runs for one inbox after its queue moved; `sweep_queue_updates` (beat, every
HITL_QUEUE_SWEEP_SECONDS) refreshes every inbox with someone waiting, which also sends a change the
rate bound held back and a lost task's work. Both are idempotent: a refresh sends only what differs
from what the bot was last told, under the escalation's row lock.
"""

from __future__ import annotations

from celery import shared_task

from conversations import queue_updates


@shared_task(acks_late=True, ignore_result=True)
def refresh_queue(inbox_id: int) -> int:
    """Queue updates owed to the inbox's waiting escalations. Returns how many were sent."""
    return queue_updates.refresh_inbox(inbox_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_queue_updates() -> int:
    return sum(queue_updates.refresh_inbox(inbox_id) for inbox_id in queue_updates.inboxes_with_waiting())


__all__ = ["refresh_queue", "sweep_queue_updates"]
