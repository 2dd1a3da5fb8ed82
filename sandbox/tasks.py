"""Celery tasks that send the sandbox's outgoing webhooks (see sandbox/webhooks.py for the design)."""

from celery import shared_task

from core import jobs
from sandbox import webhooks


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_webhook(self, delivery_id: int, manual: bool = False) -> None:
    """One attempt at one delivery; safe to run twice (the row is claimed before sending)."""
    attempt = webhooks.send_delivery(delivery_id, manual=manual)
    if attempt.retry_in is not None and not self.request.is_eager:
        # This run came from a broker, so the retry goes back there with a countdown. An eager run
        # leaves the scheduled row to the sweep instead.
        jobs.enqueue(
            jobs.DELIVER_SANDBOX_WEBHOOK,
            delivery_id,
            countdown=attempt.retry_in,
            what=f"sandbox webhook retry {delivery_id}",
        )


@shared_task(acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """Periodic sweep (schedule it with beat): enqueue every delivery whose retry is due."""
    ids = webhooks.due_delivery_ids()
    for delivery_id in ids:
        jobs.enqueue(jobs.DELIVER_SANDBOX_WEBHOOK, delivery_id, what=f"sandbox webhook {delivery_id}")
    return len(ids)
