"""Prometheus metrics: every counter and histogram, and the one-line calls that feed them.

Instrumented code calls the functions below (`metrics.webhook_request(...)`), never
prometheus_client directly, so names, labels and their bounds live in this file only.

**Processes.** gunicorn runs several web workers and Celery several worker processes; each counts
in its own memory. With `PROMETHEUS_MULTIPROC_DIR` set (to an empty directory shared by the
processes of one host, before they start) prometheus_client's multiprocess mode writes each
process's values to files there and `/metrics` adds them up (`core.metrics_view`). Without it, a
process counts for itself only: fine for `make run`, wrong behind gunicorn.

**Labels stay bounded.** No escalation, event or tenant ids. Endpoint families, outcomes and
reasons are fixed sets; HubSpot status codes are the few HubSpot answers. The tenant's slug is
added only when `METRICS_TENANT_LABELS` is on (a handful of tenants); otherwise it is "".

**Gauges are read at scrape time** (`core.metrics_view.StateCollector`): escalations open or
assigned now, callbacks pending, Celery queue depth come from PostgreSQL and the broker, so they are
right whichever process scrapes and survive restarts, which a per-process gauge would not.
"""

from __future__ import annotations

import datetime as dt
import os

from django.conf import settings

# A configured directory that does not exist yet (a fresh tmpfs) is created rather than failing
# every process at its first count.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import Counter, Histogram

# Seconds: from sub-second webhooks to an hour-long queue of callbacks to a bot that was down.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
HTTP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HUMAN_BUCKETS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)

WEBHOOK_REQUESTS = Counter(
    "hitl_webhook_requests",
    "HubSpot webhook requests by endpoint (app, channel) and outcome "
    "(accepted, duplicate, bad_signature, too_large, malformed, unknown_app, error).",
    ["endpoint", "outcome"],
)
WEBHOOK_EVENTS_STORED = Counter(
    "hitl_webhook_events_stored", "New HubSpot events stored (duplicates not counted).", ["endpoint"]
)
WEBHOOK_PROCESSING_LAG = Histogram(
    "hitl_webhook_processing_lag_seconds",
    "From a HubSpot event stored to processed.",
    buckets=LAG_BUCKETS,
)
CALLBACK_ATTEMPTS = Counter(
    "hitl_callback_attempts",
    "POSTs of events to bots by outcome (delivered, http_4xx, http_5xx, redirect, timeout, "
    "connection_error, refused).",
    ["outcome"],
)
CALLBACK_ATTEMPT_DURATION = Histogram(
    "hitl_callback_attempt_duration_seconds",
    "One callback POST, until the bot's answer.",
    buckets=HTTP_BUCKETS,
)
CALLBACK_DELIVERY_LATENCY = Histogram(
    "hitl_callback_delivery_latency_seconds",
    "From an event created to the bot's 2xx (retries included).",
    buckets=LAG_BUCKETS,
)
CALLBACK_GIVEN_UP = Counter("hitl_callback_given_up", "Events given up after every retry (marked failed).")
ESCALATIONS_STARTED = Counter("hitl_escalations_started", "Escalations started by bots.", ["tenant"])
ESCALATIONS_REFUSED = Counter(
    "hitl_escalations_refused", "Start requests refused, by error code.", ["reason", "tenant"]
)
TIME_TO_ASSIGN = Histogram(
    "hitl_escalation_time_to_assign_seconds",
    "From reaching the HubSpot inbox to the first agent assignment.",
    ["tenant"],
    buckets=HUMAN_BUCKETS,
)
TIME_TO_CLOSE = Histogram(
    "hitl_escalation_time_to_close_seconds",
    "From reaching the HubSpot inbox to closed.",
    ["tenant"],
    buckets=HUMAN_BUCKETS,
)
HUBSPOT_CALLS = Counter(
    "hitl_hubspot_calls",
    "HTTP calls to HubSpot (every attempt) by endpoint family and status (or network_error).",
    ["family", "status"],
)
HUBSPOT_RATE_LIMITED = Counter(
    "hitl_hubspot_rate_limited", "HubSpot answers 429 (rate limited), by endpoint family.", ["family"]
)
HUBSPOT_RETRIES = Counter(
    "hitl_hubspot_retries", "HubSpot calls sent again (after a 429, 5xx, network error or 401).", ["family"]
)
TOKEN_REFRESH_FAILURES = Counter(
    "hitl_hubspot_token_refresh_failures",
    "OAuth token refreshes HubSpot refused (the connection needs an admin).",
    ["reason"],
)

REFUSAL_REASONS = 40  # distinct error codes kept; any further one counts as "other"
_refusal_reasons: set[str] = set()


def _tenant(tenant) -> str:
    if not getattr(settings, "METRICS_TENANT_LABELS", False) or tenant is None:
        return ""
    return getattr(tenant, "slug", "") or ""


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


# Webhooks -----------------------------------------------------------------------------------------


def webhook_stored(endpoint: str, received: int, new: int) -> None:
    WEBHOOK_REQUESTS.labels(endpoint, "accepted" if new or not received else "duplicate").inc()
    if new:
        WEBHOOK_EVENTS_STORED.labels(endpoint).inc(new)


WEBHOOK_REFUSALS = {401: "bad_signature", 403: "bad_signature", 413: "too_large", 400: "malformed"}
WEBHOOK_REFUSALS |= {404: "unknown_app", 415: "malformed", 411: "malformed"}


def webhook_refused(endpoint: str, status: int) -> None:
    WEBHOOK_REQUESTS.labels(endpoint or "unknown", WEBHOOK_REFUSALS.get(status, "error")).inc()


def webhook_event_processed(stored_at: dt.datetime | None, processed_at: dt.datetime | None) -> None:
    lag = _seconds(stored_at, processed_at)
    if lag is not None:
        WEBHOOK_PROCESSING_LAG.observe(lag)


# Callbacks ----------------------------------------------------------------------------------------


def callback_outcome(outcome) -> str:
    """A fixed label for a `conversations.callbacks.Outcome`."""
    if outcome.ok:
        return "delivered"
    code = outcome.status_code
    if code is not None:
        return "redirect" if 300 <= code < 400 else f"http_{code // 100}xx"
    error = (outcome.error or "").lower()
    if error.startswith("refused"):
        return "refused"
    if "timeout" in error:
        return "timeout"
    return "connection_error"


def callback_attempt(outcome, duration_ms: int) -> None:
    CALLBACK_ATTEMPTS.labels(callback_outcome(outcome)).inc()
    CALLBACK_ATTEMPT_DURATION.observe(duration_ms / 1000)


def callback_delivered(created_at: dt.datetime | None, delivered_at: dt.datetime | None) -> None:
    latency = _seconds(created_at, delivered_at)
    if latency is not None:
        CALLBACK_DELIVERY_LATENCY.observe(latency)


def callback_given_up() -> None:
    CALLBACK_GIVEN_UP.inc()


# Escalations --------------------------------------------------------------------------------------


def escalation_started(connection, created: bool = True) -> None:
    """A bot's start request made a new escalation (`created`), not a replay of an earlier one."""
    if created:
        ESCALATIONS_STARTED.labels(_connection_tenant(connection)).inc()


def bot_api_refused(view, status: int, code: str | None) -> None:
    """A bot API error answer; counted as a refused start when it answers the start endpoint."""
    if getattr(view, "basename", None) != "escalation" or getattr(view, "action", None) != "create":
        return  # the handler serves every DRF view (the sandbox's too): only bot starts count
    if status < 400:
        return
    reason = str(code or "error")[:64]
    if reason not in _refusal_reasons:
        if len(_refusal_reasons) >= REFUSAL_REASONS:
            reason = "other"
        else:
            _refusal_reasons.add(reason)
    key = getattr(getattr(view, "request", None), "auth", None)
    ESCALATIONS_REFUSED.labels(reason, _connection_tenant(getattr(key, "connection", None))).inc()


def escalation_assigned(escalation, at: dt.datetime) -> None:
    """Called on every assignment; only the first one (assigned_at set now) is time to assign."""
    if escalation.assigned_at != at:
        return
    wait = _seconds(escalation.opened_at or escalation.created_at, escalation.assigned_at)
    if wait is not None:
        TIME_TO_ASSIGN.labels(_escalation_tenant(escalation)).observe(wait)


def escalation_closed(escalation) -> None:
    took = _seconds(escalation.opened_at or escalation.created_at, escalation.closed_at)
    if took is not None:
        TIME_TO_CLOSE.labels(_escalation_tenant(escalation)).observe(took)


def _escalation_tenant(escalation) -> str:
    if not getattr(settings, "METRICS_TENANT_LABELS", False):
        return ""  # the connection is not even read for a label that is off
    return _connection_tenant(escalation.connection)


def _connection_tenant(connection) -> str:
    if connection is None or not getattr(settings, "METRICS_TENANT_LABELS", False):
        return ""  # no query for a label that is off
    return _tenant(connection.tenant)


# HubSpot ------------------------------------------------------------------------------------------


def hubspot_call(operation: str, status, attempt: int) -> None:
    """One attempt at `operation` (a key of connections.hubspot.paths.ENDPOINTS), answered `status`
    (an HTTP status, or a network failure's text)."""
    family = operation.split(".", 1)[0]
    label = str(status) if isinstance(status, int) else "network_error"
    HUBSPOT_CALLS.labels(family, label).inc()
    if status == 429:
        HUBSPOT_RATE_LIMITED.labels(family).inc()
    if attempt > 1:
        HUBSPOT_RETRIES.labels(family).inc()


def token_refresh_failed(failure) -> None:
    name = type(failure).__name__
    TOKEN_REFRESH_FAILURES.labels("invalid_grant" if "InvalidGrant" in name else "auth").inc()
