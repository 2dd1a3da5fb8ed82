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

Known pending, without asking: a process that has just seen the flag set (or set it and published)
skips the round trip to the cache for the next HITL_WEBHOOK_WAKEUP_MEMO_SECONDS (the `SET NX` was
a seventh of a 1-event request's CPU; docs/benchmarks.md). Such a request may commit after the
drain's last claim; the drain covers it by claiming once more, without clearing the flag, once a
memo's length has passed since its last clear (`drain_hubspot_events`). Why that suffices: a memo
starts at an observation `o` of the flag set, before the next clear `c` of any drain (`o < c`), so
the memo's requests commit before `o + memo < c + memo`, the latest time that final claim can come.
A request seeing the flag set after that clear belongs to the drain published after it, which does
the same. Clearing the flag in this process (a drain running here) forgets the memo.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

KEY = "hitl:webhooks:drain-pending"

# time.monotonic() until which a drain is known pending in this process (0: not known). A float
# read and written whole, so threads need no lock: at worst two of them both ask the cache.
_known_pending_until = 0.0


def coalescing() -> bool:
    """True when requests hand their events to a drain: tasks go through a broker, and the cache
    holding the flag is one every web and worker process shares (Redis). With a per-process cache
    (locmem, the default without CACHE_URL) a drain could not clear the flag a web process set."""
    from hitl_portal.celery import app

    shared = "redis" in settings.CACHES["default"]["BACKEND"].lower()
    return shared and not app.conf.task_always_eager


def wake() -> None:
    """Publish a drain unless one is pending (after a request's commit, or by a drain stopping
    with events possibly left)."""
    from core import jobs

    global _known_pending_until
    asked = time.monotonic()  # the memo runs from before the cache's answer: never past o + memo
    if asked < _known_pending_until:
        return
    try:
        published = bool(cache.add(KEY, 1, timeout=settings.HITL_WEBHOOK_WAKEUP_TTL_SECONDS))
    except Exception as exc:  # redis errors: publish, as without the flag, and remember nothing
        log.warning("wake-up flag unavailable (%s); publishing the drain", type(exc).__name__)
        jobs.enqueue(jobs.DRAIN_HUBSPOT_EVENTS, what="drain of stored HubSpot events")
        return
    if published and not jobs.enqueue(jobs.DRAIN_HUBSPOT_EVENTS, what="drain of stored HubSpot events"):
        clear()  # the next request tries again; the sweep has these events meanwhile
        return
    _known_pending_until = asked + settings.HITL_WEBHOOK_WAKEUP_MEMO_SECONDS


def clear() -> None:
    """Let the next stored request publish a drain (called by the drain before each claim, and
    after a publish the broker refused)."""
    global _known_pending_until
    _known_pending_until = 0.0
    try:
        cache.delete(KEY)
    except Exception as exc:  # the flag then expires on its own
        log.warning("wake-up flag not cleared (%s); it expires by itself", type(exc).__name__)
