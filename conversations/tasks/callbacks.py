"""Celery tasks for events to the bot: delivery, the sweep of due retries, the assignment timeout.

All three are idempotent (delivery claims each event before sending it; the others only enqueue or
go through the idempotent lifecycle), hence `acks_late`: a task lost with its worker runs again.
"""

import logging

from celery import shared_task
from celery.signals import worker_shutting_down

from conversations import delivery, timeouts
from core import jobs

logger = logging.getLogger(__name__)

# Countdowns stay under the Redis visibility timeout (1 h: a longer-waiting message is redelivered
# while still waiting) and RabbitMQ's consumer_timeout (30 min by default: the broker closes the
# channel of a worker holding an unacknowledged message longer, and a countdown is held unacked).
# Longer waits are left to the every-minute sweep.
MAX_COUNTDOWN_SECONDS = 25 * 60


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_callbacks(self, escalation_id: str) -> int:
    """Send the escalation's due events in order; on a failure, queue the next try. Returns attempts."""
    return deliver_now(escalation_id, task_id=self.request.id or "", eager=bool(self.request.is_eager))


def deliver_now(escalation_id, *, task_id: str = "", eager: bool = False) -> int:
    """What `deliver_callbacks` does, in the calling worker (the webhook-processing task calls it
    for the escalations it just gave events, instead of one more broker hop). Safe beside a
    concurrent `deliver_callbacks` of the same escalation: each event is claimed before it is sent
    (`conversations.delivery`). Returns attempts."""
    run = delivery.deliver_pending(escalation_id, task_id=task_id)
    if run.retry_in is not None and run.retry_in <= MAX_COUNTDOWN_SECONDS and not eager:
        # From a broker: the retry goes back there with a countdown. An eager run (embedded
        # install, no worker) must not retry in the request that emitted the event: next_attempt_at
        # is recorded and the sweep, or `manage.py deliver_callbacks --loop`, sends it when due (as
        # it does when the broker cannot take the retry).
        jobs.enqueue(
            jobs.DELIVER_CALLBACKS,
            str(escalation_id),
            countdown=run.retry_in,
            what=f"callback retry of escalation {escalation_id}",
        )
    return run.attempts


@worker_shutting_down.connect
def _stop_claiming(**kwargs) -> None:
    # Warm shutdown: runs in this process finish the POST in flight and queue the rest for another
    # worker instead of going on (conversations/delivery.py). A prefork child, which does not get
    # the signal, finishes its run (at most delivery.RUN_BUDGET_SECONDS).
    delivery.stop_claiming()


@shared_task(acks_late=True, ignore_result=True)
def sweep_due_callbacks() -> int:
    """Every minute (beat): enqueue delivery for each escalation whose first pending event is due."""
    ids = delivery.due_escalation_ids()
    for escalation_id in ids:
        jobs.enqueue(
            jobs.DELIVER_CALLBACKS, str(escalation_id), what=f"delivery of escalation {escalation_id}"
        )
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def expire_unassigned_escalations() -> int:
    """Every minute (beat): fail escalations no agent took within the connection's timeout."""
    return timeouts.expire_unassigned()


__all__ = ["deliver_callbacks", "deliver_now", "expire_unassigned_escalations", "sweep_due_callbacks"]
