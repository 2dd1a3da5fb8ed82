"""Celery tasks of the connections app: channel registration and unregistration.

The work is in registration.py; these wrappers only turn its outcomes into Celery scheduling.
They take ids, re-read everything, and are idempotent, which is what makes `acks_late` safe (a
redelivered message re-runs a finished registration as a no-op). Retry policy:

* HubSpot has not listed a new channel yet: `self.retry(countdown=…)` from
  registration.LISTING_COUNTDOWNS, instead of sleeping in the worker.
* Network errors, 5xx and 429 (RETRYABLE_ERRORS; the client already retried each call): a new
  run after an exponential, jittered countdown, at most MAX_TRANSIENT_RETRIES times, then FAILED.
* Permanent refusals (400/401/403, missing key or token) are never retried: the run has already
  marked the registration FAILED with the reason.

Both counters travel in the task's kwargs, so the bounds hold across redeliveries. In eager mode
(`make run`) Celery re-runs a retry at once, ignoring the countdown; the bounds still end it.
"""

from celery import shared_task

from connections import registration
from connections.hubspot import RETRYABLE_ERRORS

#: Backstop only: the explicit bounds above are reached first.
MAX_RETRIES = len(registration.LISTING_COUNTDOWNS) + registration.MAX_TRANSIENT_RETRIES + 2


def _retry_transient(task, connection_id, exc, *, action, kwargs):
    failures = kwargs["failures"]
    if failures >= registration.MAX_TRANSIENT_RETRIES:
        registration.mark_failed(
            connection_id, f"HubSpot kept failing ({exc}); try again later.", action=action
        )
        return "failed"
    countdown = registration.transient_countdown(failures, exc.retry_after)
    registration.note_retry(connection_id, exc, countdown, failures + 1)
    raise task.retry(exc=exc, countdown=countdown, kwargs={**kwargs, "failures": failures + 1})


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def register_channel(self, connection_id: int, listing_checks: int = 0, failures: int = 0) -> str:
    kwargs = {"listing_checks": listing_checks, "failures": failures}
    try:
        outcome = registration.run_registration(connection_id, listing_checks=listing_checks)
    except RETRYABLE_ERRORS as exc:
        return _retry_transient(self, connection_id, exc, action="channel.register", kwargs=kwargs)
    if outcome.wait_seconds:
        raise self.retry(
            countdown=outcome.wait_seconds, kwargs={**kwargs, "listing_checks": listing_checks + 1}
        )
    return outcome.state


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def unregister_channel(self, connection_id: int, failures: int = 0) -> str:
    try:
        return registration.run_unregistration(connection_id).state
    except RETRYABLE_ERRORS as exc:
        return _retry_transient(
            self, connection_id, exc, action="channel.unregister", kwargs={"failures": failures}
        )
