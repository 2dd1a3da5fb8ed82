"""Rate limits of the bot API, per bot API key, counted in the shared cache.

Two limits, both per key (`request.auth`, the BotApiKey): every request
(HITL_BOT_API_RATE_LIMIT, default 600/min) and, tighter, starting escalations
(HITL_BOT_API_START_RATE_LIMIT, default 60/min): each start looks up a HubSpot contact and
creates a thread, and HubSpot allows the whole app about 100 calls per 10 s per portal.
"off" disables a limit. Over a limit: 429 `{"error": "rate_limited", ...}` with `Retry-After`.

Counting: a fixed window per key, one cache counter (`add` then `incr`, both atomic in Redis), so
every gunicorn worker shares it when CACHE_URL points at Redis. DRF's own SimpleRateThrottle keeps
a list of timestamps and rewrites it with get+set, which loses counts when workers race. A fixed
window may let up to twice the limit through around a window boundary; for an abuse guard that is
the accepted trade (Django REST framework's docs say throttles are not a security measure).

If the cache is down the request is allowed: a broken limiter must not take the API down with it
(fail open, as the README documents). It is loud about it: an ERROR record "bot API rate limits
NOT enforced" at the first failure and then once a minute per process with the count of requests
let through meanwhile, and /readyz answers 503 naming the cache.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from conversations.api.errors import ApiError

logger = logging.getLogger(__name__)
ALARM_INTERVAL_SECONDS = 60.0


class _Alarm:
    """At most one ERROR per interval per process, counting the requests let through unlimited."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last = -ALARM_INTERVAL_SECONDS
        self.unlimited = 0

    def raise_(self, exc: Exception) -> None:
        with self.lock:
            self.unlimited += 1
            now = time.monotonic()
            if now - self.last < ALARM_INTERVAL_SECONDS:
                return
            self.last, count, self.unlimited = now, self.unlimited, 0
        logger.error(
            "Bot API rate limits NOT enforced: the cache (CACHE_URL) is unavailable (%s: %s); "
            "%d request(s) allowed without a limit since the last report.",
            type(exc).__name__,
            exc,
            count,
        )


cache_alarm = _Alarm()


class RateLimited(ApiError):
    """429 with the bot API's error shape; DRF's handler turns `wait` into `Retry-After`."""

    def __init__(self, wait: int, limit: BotKeyRateThrottle):
        self.wait = wait
        super().__init__(
            429,
            "rate_limited",
            f"Too many requests with this bot API key: {limit.describe()}. Retry in {wait} s.",
            retry_after=wait,
            limit=limit.num_requests,
            scope=limit.scope,
        )


class BotKeyRateThrottle(SimpleRateThrottle):
    """Every bot API request of a key."""

    scope = "bot_api"
    setting = "HITL_BOT_API_RATE_LIMIT"
    cache = cache

    def get_rate(self) -> str | None:
        # Read at each request (not DRF's import-time settings), so deploys and tests can change it.
        rate = (getattr(settings, self.setting, "") or "").strip()
        return None if rate.lower() in ("", "off", "none") else rate

    def applies(self, view) -> bool:
        return True

    def get_cache_key(self, request, view) -> str | None:
        key = getattr(request, "auth", None)
        if key is None or not self.applies(view):
            return None
        return f"hitl:ratelimit:{self.scope}:{key.pk}"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        base = self.get_cache_key(request, view)
        if base is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.reset_at = (window + 1) * self.duration
        counter = f"{base}:{window}"
        try:
            # Lives one window past its own, then expires by itself.
            self.cache.add(counter, 0, timeout=self.duration * 2)
            self.count = self.cache.incr(counter)
        except Exception as exc:
            cache_alarm.raise_(exc)
            return True
        # Read by BotApiRateLimits.finalize_response for the X-RateLimit-* headers.
        limits = getattr(request, "_hitl_rate_limits", [])
        limits.append(self)
        request._hitl_rate_limits = limits
        return self.count <= self.num_requests

    def wait(self) -> int:
        return max(1, math.ceil(self.reset_at - self.now))

    @property
    def remaining(self) -> int:
        return max(0, self.num_requests - self.count)

    def describe(self) -> str:
        unit = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}[self.duration]
        what = "escalation starts" if self.scope != "bot_api" else "requests"
        return f"at most {self.num_requests} {what} per {unit}"


class StartEscalationRateThrottle(BotKeyRateThrottle):
    """POST /api/v1/escalations/ only."""

    scope = "bot_api_start"
    setting = "HITL_BOT_API_START_RATE_LIMIT"

    def applies(self, view) -> bool:
        return getattr(view, "action", None) == "create"


class BotApiRateLimits:
    """View mixin: both limits, a 429 naming the one hit, and X-RateLimit-* headers on answers."""

    throttle_classes = [BotKeyRateThrottle, StartEscalationRateThrottle]

    def check_throttles(self, request):
        refused = [t for t in self.get_throttles() if not t.allow_request(request, self)]
        if refused:
            worst = max(refused, key=lambda t: t.wait())
            raise RateLimited(worst.wait(), worst)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        limits = getattr(request, "_hitl_rate_limits", None)
        if limits:
            # The limit closest to running out is the one a bot must pace itself by.
            tightest = min(limits, key=lambda t: (t.remaining, -t.reset_at))
            response["X-RateLimit-Limit"] = str(tightest.num_requests)
            response["X-RateLimit-Remaining"] = str(tightest.remaining)
            response["X-RateLimit-Reset"] = str(max(0, math.ceil(tightest.reset_at - tightest.now)))
        return response
