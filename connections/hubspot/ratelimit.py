"""Client-side rate limiting per HubSpot portal, shared across processes through Django's cache.

HubSpot allows an OAuth app 100 requests per rolling 10 seconds per portal (contract §10) and
answers 429 beyond that. Rather than sending and collecting 429s, every request first takes a slot
here; when the window is full it waits (bounded) until enough earlier requests have left it.

The window is *sliding*, counted in buckets (1 s wide for the 10 s window): a request increments
its bucket, then sums the buckets that overlap the last `window` seconds. Counting one bucket more
than the window spans makes the sum an over-estimate, never an under-estimate, so bursts on either
side of a boundary cannot add up to twice the limit as they can with a fixed window. Incrementing
*before* reading makes it safe across processes: every request that went out has been counted by
the time a later one reads. A request that finds the window full gives its increment back.

The cache is the `default` alias: locmem per process unless `CACHE_URL` points at Redis, which is
what a multi-worker deployment wants (otherwise each process holds its own share of the limit).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from connections.hubspot.errors import HubSpotRateLimited

logger = logging.getLogger("hubspot")

#: HubSpot's CRM search endpoints have their own, lower limit (contract §10: 4 per second per token).
SEARCH_LIMIT_PER_SECOND = 4
#: Longest a caller waits for a slot before giving up with HubSpotRateLimited (a task then retries).
DEFAULT_MAX_WAIT_SECONDS = 30.0


class SlidingWindowLimiter:
    def __init__(
        self,
        key: str,
        limit: int,
        window_seconds: float = 10.0,
        *,
        buckets: int = 10,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        cache_alias: str = "default",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.key = key
        self.limit = limit
        self.window = window_seconds
        self.buckets = buckets
        self.width = window_seconds / buckets
        self.max_wait = max_wait
        self.cache_alias = cache_alias
        self.clock = clock
        self.sleep = sleep
        # Buckets live a little longer than the window so the sum never misses one still in it.
        self._ttl = math.ceil(window_seconds + 2 * self.width) + 1

    @property
    def cache(self):
        return caches[self.cache_alias]

    def _bucket_key(self, bucket: int) -> str:
        return f"hubspot:ratelimit:{self.key}:{bucket}"

    def _reserve(self, bucket: int) -> None:
        key = self._bucket_key(bucket)
        self.cache.add(key, 0, self._ttl)
        try:
            self.cache.incr(key)
        except ValueError:
            # Expired between add and incr (only possible with a tiny TTL); start it again.
            self.cache.set(key, 1, self._ttl)

    def _release(self, bucket: int) -> None:
        with contextlib.suppress(ValueError):
            self.cache.decr(self._bucket_key(bucket))

    def _reserve_and_count(self, current: int) -> list[int]:
        """Count a request in the current bucket, then read every bucket of the window (oldest
        first, the current one last). On Redis one round trip (a script: INCR, its TTL when new,
        MGET) instead of four (Django's add, incr's EXISTS and INCR, get_many); same keys and
        values, so processes of either kind count together."""
        span = range(current - self.buckets, current + 1)
        client = _redis_client(self.cache)
        if client is not None:
            keys = [self.cache.make_and_validate_key(self._bucket_key(b)) for b in span]
            found = _reserve_script(client)(keys=keys, args=[self._ttl], client=client)
            return [int(value or 0) for value in found]
        self._reserve(current)
        found = self.cache.get_many([self._bucket_key(b) for b in span])
        return [int(found.get(self._bucket_key(b), 0)) for b in span]

    def acquire(self) -> float:
        """Take a slot, waiting if needed; returns the seconds waited. Raises HubSpotRateLimited
        when no slot frees up within `max_wait`."""
        if self.limit <= 0:
            return 0.0
        waited = 0.0
        while True:
            now = self.clock()
            current = math.floor(now / self.width)
            counts = self._reserve_and_count(current)
            if sum(counts) <= self.limit:
                return waited
            self._release(current)
            wait = self._wait_for_slot(now, current, counts)
            if waited + wait > self.max_wait:
                raise HubSpotRateLimited(
                    f"client-side limit of {self.limit} requests per {self.window:g} s reached for "
                    f"{self.key}; no slot within {self.max_wait:g} s",
                    retry_after=wait,
                    category="RATE_LIMITS",
                )
            logger.info(
                "HubSpot rate limit %s: %d requests in the window, waiting %.2f s",
                self.key,
                sum(counts) - 1,
                wait,
                extra={"ratelimit_key": self.key, "wait_seconds": round(wait, 3)},
            )
            self.sleep(wait)
            waited += wait

    def _wait_for_slot(self, now: float, current: int, counts: list[int]) -> float:
        """Seconds until enough of the oldest buckets have left the window to admit one more."""
        others = sum(counts) - 1  # without our released reservation
        dropped = 0
        for offset, count in enumerate(counts):
            dropped += count
            if others - dropped + 1 <= self.limit:
                bucket = current - self.buckets + offset
                # Bucket b stops being counted once the current bucket is b + buckets + 1.
                return max((bucket + self.buckets + 1) * self.width - now, 0.001)
        return max((current + self.buckets + 1) * self.width - now, 0.001)


# INCR the current bucket (the last key), give a new one its TTL, return every bucket's count.
_RESERVE_LUA = """
local n = redis.call('INCR', KEYS[#KEYS])
if n == 1 then redis.call('EXPIRE', KEYS[#KEYS], ARGV[1]) end
return redis.call('MGET', unpack(KEYS))
"""
_scripts: dict[int, object] = {}


def _redis_client(cache):
    """The redis-py client under Django's Redis cache backend, else None (locmem: the generic path)."""
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)


def _reserve_script(client):
    # redis-py's Script sends EVALSHA (EVAL once, if the server does not know it yet).
    script = _scripts.get(id(client.connection_pool))
    if script is None:
        script = _scripts[id(client.connection_pool)] = client.register_script(_RESERVE_LUA)
    return script


def portal_limiter(app_id: int | str, portal_id: int | str | None, **options) -> SlidingWindowLimiter:
    """The limiter for one app in one portal (the unit HubSpot counts OAuth apps by)."""
    return SlidingWindowLimiter(
        f"{app_id}:{portal_id if portal_id is not None else 'none'}",
        settings.HUBSPOT_RATE_LIMIT_PER_10S,
        10.0,
        **options,
    )


def developer_limiter(app_id: int | str, **options) -> SlidingWindowLimiter:
    """Developer-API-key calls (channel registration, webhook settings) count against the app."""
    return SlidingWindowLimiter(f"{app_id}:developer", settings.HUBSPOT_RATE_LIMIT_PER_10S, 10.0, **options)


def search_limiter(app_id: int | str, portal_id: int | str | None, **options) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        f"{app_id}:{portal_id}:search", SEARCH_LIMIT_PER_SECOND, 1.0, buckets=10, **options
    )
