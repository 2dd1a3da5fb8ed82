"""Waking webhook processing without a broker publish per request: one pending drain at a time.

A webhook request stores its events (durably) and then needs a worker to process them. A Celery
publish per request cost a quarter of a 1-event request (docs/benchmarks.md). Instead, the request
publishes a drain (`drain_hubspot_events`) only when none is pending: the first
request after a drain started sets a flag in the cache (Redis `SET NX` with a short TTL) and
publishes; the requests after it find the flag and publish nothing, their events being claimed by
that drain.

Race-free because the drain clears the flag *before* each claim of pending events: a request
whose commit came after that clear sets the flag again and publishes a new drain; one whose commit
came before it (it found the flag set, so the clear was still to come) is seen by the claim.

What the flag never costs: if the cache is unreachable the request publishes as before; if the
broker refuses the drain, the flag is cleared again so the next request tries; if the drain's
message or worker is lost, the flag expires after HITL_WEBHOOK_WAKEUP_TTL_SECONDS and the next
request publishes, and the lost-event sweep finds any event still pending after its grace period.
In eager mode (tests, the embedded install) there is no broker publish to save, and without a
shared cache (CACHE_URL not Redis) there is no flag every process sees: then every request
publishes processing of its own events, as before.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

KEY = "hitl:webhooks:drain-pending"


def coalescing() -> bool:
    """True when requests hand their events to a drain: tasks go through a broker, and the cache
    holding the flag is one every web and worker process shares (Redis). With a per-process cache
    (locmem, the default without CACHE_URL) a drain could not clear the flag a web process set."""
    from hitl_portal.celery import app

    shared = "redis" in settings.CACHES["default"]["BACKEND"].lower()
    return shared and not app.conf.task_always_eager


def take() -> bool:
    """True if the caller must publish a drain: none was pending (the flag is now set), or the
    cache cannot tell."""
    try:
        return bool(cache.add(KEY, 1, timeout=settings.HITL_WEBHOOK_WAKEUP_TTL_SECONDS))
    except Exception as exc:  # redis errors: publish, as without the flag
        log.warning("wake-up flag unavailable (%s); publishing the drain", type(exc).__name__)
        return True


def wake() -> None:
    """Publish a drain unless one is pending (after a request's commit, or by a drain stopping
    with events possibly left)."""
    from core import jobs

    if take() and not jobs.enqueue(jobs.DRAIN_HUBSPOT_EVENTS, what="drain of stored HubSpot events"):
        clear()  # the next request tries again; the sweep has these events meanwhile


def clear() -> None:
    """Let the next stored request publish a drain (called by the drain before each claim, and
    after a publish the broker refused)."""
    try:
        cache.delete(KEY)
    except Exception as exc:  # the flag then expires on its own
        log.warning("wake-up flag not cleared (%s); it expires by itself", type(exc).__name__)
