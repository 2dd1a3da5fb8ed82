"""Signed POSTs of events to the bot's callback URL: signing, verifying, and one HTTP attempt.

What a bot receives (for bot authors)::

    POST <callback_url>
    Content-Type: application/json
    User-Agent: hitl-portal/<version>
    X-HITL-Event-Id: <event id>            (the bot's dedupe key: a retry carries the same id)
    X-HITL-Event-Type: escalation.message
    X-HITL-Sequence: 7                     (1, 2, 3 ... per escalation)
    X-Request-ID: <id of the request that caused the event, when known>
    X-HITL-Signature: t=1767225600,v1=<hex>[,v1=<hex>]   (or the Standard Webhooks headers:
                                           the connection's choice, conversations.callback_signing)

    <the event envelope, JSON>

`v1` is the hex HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the connection's callback secret.
While a secret is being rotated two are active and the header carries one `v1` per secret, newest
first (Stripe's scheme), so a bot that knows either secret verifies. Verify over the raw bytes
received, before parsing them, and reject an old `t` (replays): `verify_signature()` below does
both and is the reference implementation. Answer any 2xx within 10 s; anything else (3xx included:
redirects are not followed) is retried.

This module makes one attempt and records it; the retry and ordering policy is in
`conversations.delivery`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import json
import logging
import os
import threading
import time
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings

from conversations import callback_signing
from conversations.models import CallbackAttempt, EscalationEvent
from core import metrics, outbound, request_id
from core.logging import redact

logger = logging.getLogger(__name__)

VERSION = "0.1.0"
USER_AGENT = f"hitl-portal/{VERSION}"
SIGNATURE_HEADER = "X-HITL-Signature"
SIGNED_BY = {SIGNATURE_HEADER.lower(), "webhook-signature"}
EXCERPT_CHARS = 500
EXCERPT_BYTES = 2000
UNREACHABLE = "could not connect (connection refused, host unreachable or not allowed)"


# Signing ----------------------------------------------------------------------------------------


def compute_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    """The X-HITL-Signature value: ``t=<unix seconds>`` and one ``v1=`` per secret, in order given."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={t}"] + [f"v1={compute_signature(secret, t, body)}" for secret in secrets]
    return ",".join(parts)


def verify_signature(
    header: str, body: bytes, secret: str, tolerance: int = 300, *, now: float | None = None
) -> bool:
    """True if `header` (X-HITL-Signature) signs `body` (the raw bytes) with `secret`.

    False when the header is missing or malformed, when no `v1` matches (compared in constant
    time), or when `t` is more than `tolerance` seconds away from now, in either direction.
    """
    if not header:
        return False
    timestamp, candidates = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not timestamp.isdigit() or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    expected = compute_signature(secret, timestamp, body)
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def active_secrets(connection_id: int) -> list[str]:
    """The connection's callback secrets that are not retired, newest first (at most two)."""
    from connections.models import CallbackSecret

    rows = CallbackSecret.objects.filter(connection_id=connection_id, retired_at__isnull=True)
    return [row.secret for row in rows.order_by("-created_at", "-pk")]


def raw_body(event: EscalationEvent) -> bytes:
    # Compact and stable: the bot verifies the signature over exactly these bytes.
    return json.dumps(event.envelope(), separators=(",", ":"), ensure_ascii=False).encode()


def build_headers(
    event: EscalationEvent, body: bytes, secrets: list[str], scheme: str = "hitl"
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HITL-Event-Id": str(event.id),
        "X-HITL-Event-Type": event.type,
        "X-HITL-Sequence": str(event.sequence),
    }
    if event.request_id:
        headers[request_id.HEADER] = event.request_id
    headers.update(callback_signing.signature_headers(scheme, secrets, str(event.id), body))
    return headers


# One attempt ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""


class CallbackRefused(Exception):
    """The URL may not be called (private address, bad scheme ...) or nothing can sign."""


def _check_url(url: str) -> None:
    # Checked again at send time, not only when the bot registered the URL: DNS can change to
    # point at a private address later (rebinding). Imported lazily: it belongs to the API side.
    from conversations.callback_urls import validate_callback_url

    try:
        # The form only: the address is judged at connect time (core.outbound), where a refusal
        # reads like an unreachable host.
        validate_callback_url(url, resolve=False)
    except Exception as exc:
        messages = getattr(exc, "messages", None)
        raise CallbackRefused("; ".join(messages) if messages else str(exc)) from exc


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A cookie jar under this policy never stores a cookie nor sends one: the session is shared by
    every bot a worker calls, and one bot's cookies must never reach another."""

    def set_ok(self, cookie, request) -> bool:
        return False

    def return_ok(self, cookie, request) -> bool:
        return False


_local = threading.local()


def http_session() -> requests.Session:
    """This thread's callback session: kept-alive connections to the bots (a TCP handshake saved
    per callback), no cookies (`_NoCookies`), connecting only to the public address it checked
    (core.outbound). One per thread (a Session is not thread-safe) and per process (a pooled socket
    must not be shared by a forked child)."""
    session = getattr(_local, "session", None)
    private_allowed = outbound.allow_private()
    if session is None or _local.pid != os.getpid() or _local.private_allowed != private_allowed:
        session = outbound.session(private_allowed=private_allowed)
        session.cookies.set_policy(_NoCookies())
        _local.session, _local.pid, _local.private_allowed = session, os.getpid(), private_allowed
    return session


def _post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    timeout = (settings.HITL_CALLBACK_CONNECT_TIMEOUT, settings.HITL_CALLBACK_READ_TIMEOUT)
    try:
        # Redirects never followed (a redirect could point the signed body at an address we would
        # have refused). stream=True and a bounded read: a bot answering with a huge body cannot
        # fill the worker's memory.
        response = http_session().post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.ReadTimeout:
        return Outcome(False, error=f"no answer within {timeout[1]:g} s (read timeout)")
    except requests.exceptions.SSLError:
        return Outcome(False, error="TLS handshake failed (is the certificate valid for the host?)")
    except requests.ConnectionError:
        # One wording for a refused address, a name that does not resolve, a closed port and a
        # connect timeout: the log must not tell which (no port scan through callback URLs).
        return Outcome(False, error=UNREACHABLE)
    except requests.RequestException as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
    try:
        head = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # The status line already came: the answer stands; only its excerpt is lost.
        head = f"(answer body unreadable: {type(exc).__name__})".encode()
    finally:
        if response.raw.length_remaining == 0:
            response.raw.release_conn()  # read to its end: the connection goes back to the pool
        else:
            response.close()  # more than we read (or of unknown length): the connection is dropped
    excerpt = redact(head.decode("utf-8", "replace")[:EXCERPT_CHARS])
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, status_code=code, excerpt=excerpt)
    if 300 <= code < 400:
        location = redact(response.headers.get("Location", ""))[:200]
        return Outcome(False, status_code=code, error=f"HTTP {code}: redirect not followed ({location})")
    return Outcome(False, status_code=code, error=f"HTTP {code}", excerpt=excerpt)


def send_event(event: EscalationEvent, url: str, *, task_id: str = "") -> tuple[Outcome, CallbackAttempt]:
    """POST one event once and record the attempt. The caller owns the event's delivery state."""
    outcome, attempt = post_event(event, url, task_id=task_id)
    attempt.save()
    return outcome, attempt


def post_event(event: EscalationEvent, url: str, *, task_id: str = "") -> tuple[Outcome, CallbackAttempt]:
    """POST one event once; the attempt is returned unsaved, for the caller to store in the same
    transaction as the event's new delivery state (one commit, not two)."""
    started = time.monotonic()
    try:
        _check_url(url)
        scheme, secrets = callback_signing.signing_of(event.escalation.connection_id)
        if not secrets:
            # Unsigned callbacks cannot be trusted by the bot (chatwoot#13789); hold them until a
            # secret exists, like any other failure.
            raise CallbackRefused("the connection has no active callback secret to sign with")
        body = raw_body(event)
        headers = build_headers(event, body, secrets, scheme)
        if not any(h.lower() in SIGNED_BY for h in headers):
            raise CallbackRefused(
                "no active callback secret can sign Standard Webhooks (whsec_ + standard base64): "
                "rotate the callback secret"
            )
        outcome = _post(url, body, headers)
    except CallbackRefused as exc:
        outcome = Outcome(False, error=f"refused: {exc}"[:500])
    duration_ms = int((time.monotonic() - started) * 1000)
    metrics.callback_attempt(outcome, duration_ms)
    attempt = CallbackAttempt(
        event=event,
        url=url,
        status_code=outcome.status_code,
        duration_ms=duration_ms,
        # Errors quote the URL, whose query may carry the bot's own token: stored and shown redacted.
        error=redact(outcome.error),
        response_excerpt=outcome.excerpt,
        task_id=task_id or "",
    )
    log = logger.info if outcome.ok else logger.warning
    log(
        "callback %s #%s of escalation %s to %s: %s (%d ms)",
        event.type,
        event.sequence,
        event.escalation_id,
        redact(url),
        outcome.status_code if outcome.ok else outcome.error,
        duration_ms,
    )
    return outcome, attempt


__all__ = [
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "CallbackRefused",
    "Outcome",
    "active_secrets",
    "build_headers",
    "compute_signature",
    "post_event",
    "raw_body",
    "send_event",
    "signature_header",
    "verify_signature",
]
