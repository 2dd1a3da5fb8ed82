"""Celery tasks that send the sandbox's outgoing webhooks (see sandbox/webhooks.py for the design)."""

from celery import shared_task

from sandbox import webhooks


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_webhook(self, delivery_id: int, manual: bool = False) -> None:
    """One attempt at one delivery; safe to run twice (the row is claimed before sending)."""
    attempt = webhooks.send_delivery(delivery_id, manual=manual)
    if attempt.retry_in is not None and not self.request.is_eager:
        # This run came from a broker, so the retry goes back there with a countdown. send_task
        # publishes even where task_always_eager is set (apply_async would run it here, now,
        # before it is due). An eager run leaves the scheduled row to the sweep instead.
        self.app.send_task(self.name, args=(delivery_id,), countdown=attempt.retry_in)


@shared_task(acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """Periodic sweep (schedule it with beat): enqueue every delivery whose retry is due."""
    ids = webhooks.due_delivery_ids()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)
