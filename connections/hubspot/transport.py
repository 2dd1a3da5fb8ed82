"""The HTTP layer every HubSpot call goes through: session, timeouts, auth, retries, errors, logs.

One `requests.Session` per process. Sessions are shared between threads here, which is fine for
what we do with them (urllib3's connection pool is thread-safe; we never mutate headers or auth on
the session, and its cookie jar is switched off so one portal's cookies, e.g. Cloudflare's, are not
replayed to another). A process that forks (Celery prefork) builds its own on first use.

Retry rule (HUBSPOT_MAX_RETRIES retries at most, and never more than `max_total_sleep` seconds
asleep in total, so a Celery task stays well inside its time limit):

* 429 is always retried: HubSpot rejected the request before acting on it. The wait is
  `Retry-After`, else `X-HubSpot-RateLimit-Interval-Milliseconds`, else backoff (≥ 1 s). A daily
  limit is not waited for (hours away): the error is raised at once.
* A network error where the request provably never left (connect timeout, connection refused,
  DNS failure) is always retried.
* A 5xx, a read timeout or a dropped connection leaves the outcome unknown, so it is retried only
  when the endpoint is replay-safe (`Endpoint.replay_safe`): GET/PUT/PATCH/DELETE, and the POSTs
  that do not create anything (search, actor batch read, introspect, revoke) or carry their own
  idempotency key (publish: `integrationIdempotencyId`). The creating POSTs (channel, channel
  account, subscription, file upload, token grant) are not replayed, because HubSpot may already
  have created the object; the caller (a Celery task) decides, and can look the object up first.
* A 503's `Retry-After` is honoured as well; other 5xx back off.
* A Celery task's calls (`Transport.for_task`) sleep at most HUBSPOT_TASK_MAX_SLEEP_SECONDS: a
  longer wait is raised with its `retry_after` and becomes the task's countdown.
* Other 4xx are never retried. A 401 on a Bearer call forces ONE token refresh and ONE new try
  (not counted as a retry); a second 401 is raised.

Backoff is exponential with full jitter (sleep = uniform(0, min(cap, base·2ⁿ)), AWS Architecture
Blog, "Exponential Backoff And Jitter"), so workers that failed together do not retry together.
`sleep`, `jitter` and `clock` are injectable for tests.

Logging: one line per attempt on the "hubspot" logger with method, path (secrets masked: query
values named like secrets, tokens in v1 OAuth paths; the hapikey is never part of what is logged),
status, duration, correlationId and attempt. Request and response bodies are never logged.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3.exceptions
from django.conf import settings

from connections.hubspot import errors
from connections.hubspot.paths import Endpoint, base_url, endpoint
from core import metrics
from core.logging import redact
from core.secrets import SecretStr

logger = logging.getLogger("hubspot")

CLIENT_VERSION = "1.0"
USER_AGENT = f"hitl-portal-hubspot/{CLIENT_VERSION} python-requests/{requests.__version__}"
#: Upper bound on the time one call spends asleep between retries.
MAX_TOTAL_SLEEP_SECONDS = 30.0
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0

# HubSpot's OAuth error statuses that mean "this grant is dead, connect again" (v1 bodies say
# {"status": "BAD_REFRESH_TOKEN", ...}; the 2026-03 / RFC 6749 form is {"error": "invalid_grant"}).
_INVALID_GRANT = {"invalid_grant", "BAD_REFRESH_TOKEN", "BAD_AUTH_CODE", "EXPIRED_AUTH_CODE"}
# ...and the ones that mean "the app's own client id or secret is wrong" (answered with a 400 too).
_BAD_CLIENT = {"invalid_client", "BAD_CLIENT_ID", "BAD_CLIENT_SECRET"}

_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def get_session() -> requests.Session:
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _session_lock:
            if _session is None or _session_pid != pid:
                session = requests.Session()
                session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
                # Retries are ours (with the rules above), not urllib3's.
                adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _session, _session_pid = session, pid
    return _session


class Auth:
    """No credentials (OAuth token endpoints carry the client secret in the form body)."""

    can_refresh = False

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        pass

    def refresh(self) -> None:  # pragma: no cover - only called when can_refresh
        raise NotImplementedError


class BearerAuth(Auth):
    """The OAuth access token of one connection, from `tokens.get_access_token`."""

    can_refresh = True

    #: Reuse a fetched token this long before asking the token store again. Tokens are handed out
    #: with at least HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS left, so this never outlives one.
    reuse_seconds = 60.0

    def __init__(self, connection_id: int, token_getter: Callable[..., SecretStr] | None = None):
        self.connection_id = connection_id
        self._token_getter = token_getter
        self._token: SecretStr | None = None
        self._fetched_at = 0.0

    def _get(self, **kwargs) -> SecretStr:
        getter = self._token_getter
        if getter is None:
            from connections.hubspot.tokens import get_access_token

            getter = get_access_token
        return getter(self.connection_id, **kwargs)

    def apply(self, headers, query):
        if self._token is None or time.monotonic() - self._fetched_at > self.reuse_seconds:
            self._token = self._get()
            self._fetched_at = time.monotonic()
        headers["Authorization"] = f"Bearer {str.__str__(self._token)}"

    def refresh(self) -> None:
        # Tell the token store which token was refused, so that when many requests get a 401 at
        # once, the first refresh wins and the others reuse its token instead of refreshing again.
        self._token = self._get(force=True, rejected=self._token)
        self._fetched_at = time.monotonic()


class DeveloperKeyAuth(Auth):
    """The developer API key of an app's developer account, sent as `?hapikey=` (contract §0.1)."""

    def __init__(self, api_key: str):
        if not api_key:
            raise errors.HubSpotNotConnected(
                "This HubSpot app has no developer API key; add it in the admin to manage "
                "custom channels and webhook subscriptions."
            )
        self._api_key = SecretStr(api_key)

    def apply(self, headers, query):
        query["hapikey"] = str.__str__(self._api_key)


NO_AUTH = Auth()


def _full_jitter(cap: float) -> float:
    return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached HubSpot (so replaying it cannot duplicate)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
            return True
        if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
            cause = cause.reason
            continue
        cause = cause.__cause__ or cause.__context__ or (cause.args[0] if cause.args else None)
        if not isinstance(cause, BaseException):
            break
    return False


def _network_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if _never_sent(exc):
        return "could not connect"
    return "connection error"


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _retry_after(response: requests.Response) -> float | None:
    headers = response.headers
    after = _parse_retry_after(headers.get("Retry-After"))
    if after is not None:
        return after
    interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    if interval and headers.get("X-HubSpot-RateLimit-Remaining", "0") == "0":
        try:
            return float(interval) / 1000.0
        except ValueError:
            return None
    return None


def _is_daily_limit(response: requests.Response, body: Any) -> bool:
    if response.headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return True
    return isinstance(body, dict) and str(body.get("policyName", "")).upper() == "DAILY"


def _decode(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _display(path: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return path
    return redact(f"{path}?{urlencode(_flatten(params), doseq=True)}")


def _flatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """Lists become comma-joined values, as HubSpot's SDKs send array parameters (contract §0.5)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        flat[key] = value
    return flat


def build_error(response: requests.Response, operation: str, *, token_endpoint: bool) -> errors.HubSpotError:
    """Map an error response to the typed hierarchy, keeping only fields that are safe to keep."""
    body = _decode(response)
    status = response.status_code
    correlation_id = response.headers.get("X-HubSpot-Correlation-Id", "")
    message = category = sub_category = ""
    details: list[dict] = []
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error_description") or "")
        category = str(body.get("category") or body.get("errorType") or "")
        correlation_id = str(body.get("correlationId") or correlation_id)
        sub_category = body.get("subCategory") or ""
        if not isinstance(sub_category, str):
            sub_category = jsonlib.dumps(sub_category)
        # OAuth endpoints put the machine-readable reason in "status" (v1) or "error" (RFC 6749).
        oauth_reason = body.get("error") or (body.get("status") if body.get("status") != "error" else "")
        if oauth_reason and not sub_category:
            sub_category = str(oauth_reason)
        if not token_endpoint:
            details = [
                {k: d[k] for k in ("message", "code", "in", "subCategory", "context") if k in d}
                for d in body.get("errors") or []
                if isinstance(d, dict)
            ]
    elif not token_endpoint:
        message = errors.excerpt(response.text)
    if not message:
        message = response.reason or f"HTTP {status}"

    cls = errors.error_class_for(status, category)
    if token_endpoint and status in (400, 401) and sub_category in _INVALID_GRANT:
        cls = errors.HubSpotInvalidGrant
    elif token_endpoint and status in (400, 401) and sub_category in _BAD_CLIENT:
        cls = errors.HubSpotAuthError
    return cls(
        message,
        status=status,
        category=category,
        sub_category=sub_category,
        correlation_id=correlation_id,
        # 503 may carry Retry-After too (RFC 9110 §10.2.3); honour it like a 429's.
        retry_after=_retry_after(response) if status in (429, 503) else None,
        errors=details,
        operation=operation,
    )


class Transport:
    """Sends one logical HubSpot call, with the retries, limits and logging described above."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = _full_jitter,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int | None = None,
        max_total_sleep: float = MAX_TOTAL_SLEEP_SECONDS,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        session: requests.Session | None = None,
    ):
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        self._max_retries = max_retries
        self.max_total_sleep = max_total_sleep
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._session = session

    @property
    def max_retries(self) -> int:
        return settings.HUBSPOT_MAX_RETRIES if self._max_retries is None else self._max_retries

    @property
    def session(self) -> requests.Session:
        return self._session or get_session()

    @classmethod
    def for_task(cls) -> Transport:
        """For a Celery task that retries by itself (a countdown through the broker): only the
        short backoffs of a blip (HUBSPOT_TASK_MAX_SLEEP_SECONDS in all) are slept in the worker.
        A longer wait, such as a 429's Retry-After or HubSpot's 10-second window, is raised with
        its `retry_after` for the task's countdown: a pool process asleep for one rate-limited
        portal would keep every other tenant's work in it waiting."""
        return cls(max_total_sleep=settings.HUBSPOT_TASK_MAX_SLEEP_SECONDS)

    def backoff(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (0-based): full jitter over an exponential cap."""
        return self.jitter(min(self.backoff_cap, self.backoff_base * (2**retry_number)))

    def request(
        self,
        operation: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        auth: Auth = NO_AUTH,
        limiters: Iterable = (),
        version: str | None = None,
        token_endpoint: bool = False,
        max_total_sleep: float | None = None,
    ) -> Any:
        """Call `operation` (a key of paths.ENDPOINTS); returns the decoded JSON body (None when empty)."""
        ep: Endpoint = endpoint(operation, version)
        path_params = dict(path_params or {})
        path = ep.path(**path_params)
        url = base_url(ep.base) + path
        query = _flatten(params or {})
        display = _display(ep.display_path(**path_params), query)
        timeout = (settings.HUBSPOT_CONNECT_TIMEOUT, settings.HUBSPOT_READ_TIMEOUT)
        budget = self.max_total_sleep if max_total_sleep is None else max_total_sleep
        limiters = tuple(limiters)

        attempt = retries = 0
        slept = 0.0
        refreshed = False
        while True:
            attempt += 1
            for limiter in limiters:
                limiter.acquire()
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            send_query = dict(query)
            auth.apply(headers, send_query)
            started = self.clock()
            try:
                response = self.session.request(
                    ep.method,
                    url,
                    params=send_query,
                    json=json,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                reason = _network_reason(exc)
                self._log(logging.WARNING, ep.method, display, reason, started, "", attempt, operation)
                if (ep.replay_safe or _never_sent(exc)) and retries < self.max_retries:
                    delay = self.backoff(retries)
                    if slept + delay <= budget:
                        retries += 1
                        slept += delay
                        self.sleep(delay)
                        continue
                # `from None`: the requests exception's text holds the full URL, hapikey included.
                raise errors.HubSpotNetworkError(
                    f"HubSpot unreachable: {reason} calling {ep.method} {display}"
                    + (f" after {attempt} attempts" if attempt > 1 else ""),
                    operation=operation,
                ) from None

            status = response.status_code
            correlation_id = response.headers.get("X-HubSpot-Correlation-Id", "")
            if 200 <= status < 300:
                body = _decode(response)
                if isinstance(body, dict) and not token_endpoint:
                    correlation_id = correlation_id or str(body.get("correlationId") or "")
                self._log(
                    logging.DEBUG, ep.method, display, status, started, correlation_id, attempt, operation
                )
                if response.content and body is None:
                    raise errors.HubSpotServerError(
                        "HubSpot answered with a body that is not JSON", status=status, operation=operation
                    )
                return body

            error = build_error(response, operation, token_endpoint=token_endpoint)
            level = logging.WARNING if status == 429 or status >= 500 else logging.INFO
            self._log(level, ep.method, display, status, started, error.correlation_id, attempt, operation)

            if status == 401 and auth.can_refresh and not refreshed:
                refreshed = True
                auth.refresh()
                continue

            delay = self._retry_delay(response, error, ep, retries)
            if delay is not None and slept + delay <= budget:
                retries += 1
                slept += delay
                self.sleep(delay)
                continue
            raise error

    def _retry_delay(
        self, response: requests.Response, error: errors.HubSpotError, ep: Endpoint, retries: int
    ) -> float | None:
        """Seconds to wait before sending an error-answered request again, or None: do not."""
        if retries >= self.max_retries:
            return None
        status = response.status_code
        if status == 429:
            if _is_daily_limit(response, _decode(response)):
                return None
            if error.retry_after is not None:
                return error.retry_after
            return max(self.backoff(retries), 1.0)
        if status >= 500 and ep.replay_safe:
            return error.retry_after if error.retry_after is not None else self.backoff(retries)
        return None

    def _log(self, level, method, display, status, started, correlation_id, attempt, operation) -> None:
        metrics.hubspot_call(operation, status, attempt)  # every attempt passes here
        if not logger.isEnabledFor(level):
            return
        duration_ms = (self.clock() - started) * 1000.0
        logger.log(
            level,
            "HubSpot %s %s -> %s in %.0f ms (attempt %d%s)",
            method,
            display,
            status,
            duration_ms,
            attempt,
            f", correlationId {correlation_id}" if correlation_id else "",
            extra={
                "hubspot_operation": operation,
                "hubspot_method": method,
                "hubspot_path": display,
                "hubspot_status": status,
                "duration_ms": round(duration_ms, 1),
                "correlation_id": correlation_id,
                "attempt": attempt,
            },
        )


__all__ = ["NO_AUTH", "Auth", "BearerAuth", "DeveloperKeyAuth", "Transport", "build_error", "get_session"]
