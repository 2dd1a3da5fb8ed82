"""The ways the sandbox misbehaves like HubSpot: injected failures and the ten-second rate limit.

Both are driven by `SandboxBehaviour`, read on every request so an operator (or a test) can flip
them at run time. The endpoint wrapper (sandbox/api/endpoint.py) applies them to every API view.

Rate limiting counts requests per app+portal in fixed 10-second windows kept in Django's cache:
`cache.incr` is atomic in Redis and in the local-memory cache, so concurrent requests cannot both
take the last slot. HubSpot uses a rolling window; a fixed one is close enough to exercise a
client's back-off and far simpler to reason about in tests.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import F

from sandbox.api.errors import ApiError
from sandbox.models import SandboxBehaviour

WINDOW_SECONDS = 10
# What HubSpot grants an OAuth app per portal; reported in headers while limiting is switched off.
HUBSPOT_DEFAULT_LIMIT = 100

FAILURE_MESSAGES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "You have reached your ten_secondly_rolling limit.",
}


def take_injected_failure(behaviour: SandboxBehaviour, path: str) -> ApiError | None:
    """Consume one of `fail_next_requests` if this path qualifies; the decrement is a single
    conditional UPDATE, so N configured failures fail exactly N requests under concurrency."""
    if behaviour.fail_next_requests <= 0:
        return None
    if behaviour.fail_path_contains and behaviour.fail_path_contains not in path:
        return None
    taken = SandboxBehaviour.objects.filter(pk=behaviour.pk, fail_next_requests__gt=0).update(
        fail_next_requests=F("fail_next_requests") - 1
    )
    if not taken:
        return None
    status = behaviour.fail_status
    headers = {"Retry-After": "1"} if status in (429, 503) else {}
    category = "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR"
    message = FAILURE_MESSAGES.get(status, "The sandbox injected this failure (SandboxBehaviour).")
    return ApiError(status, message, category, headers=headers)


@dataclass(frozen=True)
class RateWindow:
    limit: int
    used: int
    reset_in: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self.limit),
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_SECONDS * 1000),
            # The older header pair HubSpot documents for OAuth apps.
            "X-HubSpot-RateLimit-Secondly": str(math.ceil(self.limit / WINDOW_SECONDS)),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(math.ceil(self.remaining / WINDOW_SECONDS)),
        }


def count_request(behaviour: SandboxBehaviour, key: str, group_name: str) -> RateWindow:
    """Count one request against `key`'s window; raises 429 once the window is used up."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    cache_key = f"sandbox:ratelimit:{key}:{window}"
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        used = cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        cache.add(cache_key, 1, timeout=WINDOW_SECONDS * 2)
        used = 1
    reset_in = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    limit = behaviour.rate_limit_per_10s
    state = RateWindow(limit=limit or HUBSPOT_DEFAULT_LIMIT, used=used, reset_in=reset_in)
    if limit and used > limit:
        raise ApiError(
            429,
            "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            headers=state.headers() | {"Retry-After": str(reset_in)},
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
            groupName=group_name,
        )
    return state
