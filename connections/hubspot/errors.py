"""Typed errors of the HubSpot client.

Every failure of a HubSpot call surfaces as one `HubSpotError` subclass, picked by HTTP status, so
callers branch on the type (and Celery tasks retry on `RETRYABLE_ERRORS`) instead of on numbers.

What an error carries: the HTTP status, HubSpot's `category`, `subCategory`, `correlationId` (quote it
to HubSpot support), its `message` and, for validation errors, the `errors[]` details. What it never
carries: a secret, the request URL (it may hold `?hapikey=`), or the response body of an OAuth token
endpoint (it may echo tokens). Messages pass through the log redactor before they are stored.
"""

from __future__ import annotations

import requests

from core.logging import redact

# Longest response excerpt kept when HubSpot (or a proxy in front of it) answers without JSON.
_EXCERPT_CHARS = 200


class HubSpotError(Exception):
    """Base of all client errors. `str(error)` is safe to log and to show to an admin."""

    #: Whether the same request may succeed later unchanged (Celery: retry the task).
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str = "",
        sub_category: str = "",
        correlation_id: str = "",
        retry_after: float | None = None,
        errors: list[dict] | None = None,
        operation: str = "",
    ):
        self.message = redact(message or "")
        self.status = status
        self.category = category or ""
        self.sub_category = sub_category or ""
        self.correlation_id = correlation_id or ""
        self.retry_after = retry_after
        self.errors = errors or []
        self.operation = operation
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message or self.__class__.__name__]
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.category:
            details.append(self.category + (f"/{self.sub_category}" if self.sub_category else ""))
        if self.operation:
            details.append(self.operation)
        if self.correlation_id:
            details.append(f"correlationId {self.correlation_id}")
        if details:
            parts.append(f"({', '.join(details)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"


class HubSpotAuthError(HubSpotError):
    """401/403: the token, developer API key or client credentials are not accepted."""


class HubSpotMissingScopes(HubSpotAuthError):
    """403 with category MISSING_SCOPES: the portal must re-consent with the scopes the app needs."""


class HubSpotInvalidGrant(HubSpotAuthError):
    """The token endpoint refused the refresh token or authorization code (invalid_grant,
    BAD_REFRESH_TOKEN, BAD_AUTH_CODE): the portal has to be connected again."""


class HubSpotNotConnected(HubSpotAuthError):
    """The connection has no usable credentials (never connected, or disconnected)."""


class HubSpotNotFound(HubSpotError):
    """404: the object does not exist (or is archived, or belongs to another portal)."""


class HubSpotValidationError(HubSpotError):
    """400/409/422: HubSpot rejected the request's content. `errors` holds HubSpot's details."""


class HubSpotRateLimited(HubSpotError):
    """429 from HubSpot, or our own limiter could not get a slot in time. `retry_after` in seconds."""

    retryable = True


class HubSpotServerError(HubSpotError):
    """5xx: HubSpot failed. Retried by the client where safe; retryable later otherwise."""

    retryable = True


class HubSpotNetworkError(HubSpotError, requests.ConnectionError):
    """No HTTP answer: connection refused or reset, DNS failure, connect or read timeout.

    Also a `requests.ConnectionError` (as anymail does for its transport errors), so code and Celery
    `autoretry_for=(requests.RequestException,)` written against `requests` keep working. It is raised
    `from None`: the original exception's text holds the full URL, query string included.
    """

    retryable = True


class HubSpotTokenRefreshBusy(HubSpotError):
    """Another worker is refreshing the connection's access token and did not finish within the
    wait (`tokens.REFRESH_WAIT_SECONDS`); its result, or an expired claim, is there on a retry."""

    retryable = True


#: What a Celery task should retry later (with its own backoff) after the client gave up.
RETRYABLE_ERRORS: tuple[type[HubSpotError], ...] = (
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotNetworkError,
    HubSpotTokenRefreshBusy,
)


def error_class_for(status: int, category: str = "") -> type[HubSpotError]:
    if status == 403 and category == "MISSING_SCOPES":
        return HubSpotMissingScopes
    if status in (401, 403):
        return HubSpotAuthError
    if status == 404:
        return HubSpotNotFound
    if status == 429:
        return HubSpotRateLimited
    if status in (400, 409, 422):
        return HubSpotValidationError
    if status >= 500:
        return HubSpotServerError
    return HubSpotError


def excerpt(text: str) -> str:
    """A short, redacted piece of a non-JSON body, for errors from proxies that answer in HTML."""
    text = " ".join((text or "").split())
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return redact(text)
