"""What "HubSpot" POSTs out: app webhooks (contract §9.3) and custom-channel webhooks (§5.4).

Emitting and sending are two halves joined by `SandboxWebhookDelivery` rows (an outbox):

* `emit_conversation_event` / `emit_channel_event` are called by the sandbox's domain code while it
  changes a thread. They only write delivery rows, in the caller's transaction, so a rolled-back
  change never announces itself. App events for one target emitted within one transaction share a
  row (one JSON array of at most 100 events), the way HubSpot batches.
* When that transaction commits, every delivery it created is handed to the Celery task
  `sandbox.tasks.deliver_webhook` (in reverse order when `reorder_deliveries` is on).
* `send_delivery` makes one signed POST attempt (twice when `duplicate_deliveries` is on) and
  records the outcome. A failure (non-2xx, timeout, connection error) is scheduled again with
  exponential backoff until `SandboxBehaviour.webhook_max_attempts` attempts were made.

Retries when tasks run eagerly (`make run`, tests): a Celery retry would run at once, in the request,
and spin. So eager mode only records `next_attempt_at`; due retries go out when someone runs
`manage.py sandbox_deliver_webhooks` (once, or `--loop`), presses "Send due now" / "Retry now" on the
console's deliveries page, or beat runs `sandbox.tasks.deliver_due_webhooks`. With a real worker the
task re-enqueues itself with a countdown, and the periodic sweep is a safety net for lost messages.

Every POST is signed like HubSpot signs: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client
secret, "POST" + URL + body + timestamp)) with `X-HubSpot-Request-Timestamp` in ms, plus the legacy
v1 `X-HubSpot-Signature` (sha256 hex of secret + body) that HubSpot still sends alongside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from django.conf import settings
from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone

from core import jobs
from sandbox.models import (
    SandboxApp,
    SandboxBehaviour,
    SandboxChannelAccount,
    SandboxSubscription,
    SandboxToken,
    SandboxWebhookDelivery,
)
from sandbox.serializers import iso

logger = logging.getLogger(__name__)

USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutor (sandbox)"
TIMEOUT_SECONDS = 5  # HubSpot gives a webhook receiver 5 s to answer.
MAX_EVENTS_PER_REQUEST = 100
# A claimed delivery is not claimed again for this long, so a sweep cannot send it twice while a
# slow attempt (up to 2 x 5 s with duplicates) is still in flight; a crashed sender is retried after.
CLAIM_LEASE_SECONDS = 60
# Timers fire a little early or late; a retry arriving this much before its time still counts.
DUE_SLACK_SECONDS = 1

Delivery = SandboxWebhookDelivery


# Signing -----------------------------------------------------------------------------------------


def sign_v3(client_secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 request signature (contract §9.3), written here, independent of the portal."""
    message = method.upper().encode() + url.encode() + body + timestamp.encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_v1(client_secret: str, body: bytes) -> str:
    return hashlib.sha256(client_secret.encode() + body).hexdigest()


def signed_headers(client_secret: str, url: str, body: bytes, timestamp_ms: int | None = None) -> dict:
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": sign_v3(client_secret, "POST", url, body, timestamp),
        "X-HubSpot-Signature": sign_v1(client_secret, body),
        "X-HubSpot-Signature-Version": "v1",
    }


def raw_body(body) -> bytes:
    # Compact like HubSpot's payloads; the receiver must sign exactly these bytes.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


# Event ids and change source ---------------------------------------------------------------------

_event_id_lock = threading.Lock()
_last_event_id = 0


def next_event_id() -> int:
    """A unique, increasing int: microseconds since the epoch, bumped past the last one issued.

    Fits a JavaScript-safe integer. Unique within a process; two processes would have to emit in
    the same microsecond to collide, which a sandbox can live with (receivers dedupe by eventId).
    """
    global _last_event_id
    with _event_id_lock:
        _last_event_id = max(time.time_ns() // 1000, _last_event_id + 1)
        return _last_event_id


_change_source: ContextVar[str] = ContextVar("sandbox_webhook_change_source", default="API")


@contextmanager
def change_source(source: str) -> Iterator[None]:
    """Label events emitted inside the block (the console uses CRM_UI; API calls default to API).

    A context variable rather than a parameter keeps `emit_conversation_event`'s signature, which
    the API code relies on, unchanged.
    """
    token = _change_source.set(source)
    try:
        yield
    finally:
        _change_source.reset(token)


# Emitting ----------------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def emit_conversation_event(
    thread,
    subscription_type: str,
    *,
    property_name: str | None = None,
    property_value: str | None = None,
    message=None,
) -> None:
    """Queue a `conversation.*` event for every app subscribed to it and installed in the portal."""
    subscriptions = SandboxSubscription.objects.filter(
        active=True,
        event_type=subscription_type,
        app__webhook_settings__isnull=False,
    ).select_related("app", "app__webhook_settings")
    if subscription_type.endswith(".propertyChange"):
        subscriptions = subscriptions.filter(property_name=property_name or "")
    installed = set(
        SandboxToken.objects.filter(portal_id=thread.portal_id, revoked_at__isnull=True).values_list(
            "app_id", flat=True
        )
    )
    portal_id = thread.portal.portal_id
    by_target: dict[tuple[int, str], tuple[SandboxApp, list[dict]]] = {}
    for subscription in subscriptions:
        app = subscription.app
        if app.pk not in installed:
            continue
        event = {
            "eventId": next_event_id(),
            "subscriptionId": subscription.pk,
            "portalId": portal_id,
            "appId": app.app_id,
            "occurredAt": _now_ms(),
            "subscriptionType": subscription_type,
            "attemptNumber": 0,
            "objectId": thread.pk,
            "changeSource": _change_source.get(),
        }
        if property_name is not None:
            event["propertyName"] = property_name
            event["propertyValue"] = "" if property_value is None else str(property_value)
        if message is not None:
            event["messageId"] = message.message_id
            event["messageType"] = message.type
            event["changeFlag"] = "NEW_MESSAGE"
        url = app.webhook_settings.target_url
        by_target.setdefault((app.pk, url), (app, []))[1].append(event)
    for (_, url), (app, events) in by_target.items():
        _queue_app_events(app, url, events)


def emit_channel_event(channel, event_type: str, payload: dict) -> None:
    """Queue one custom-channel webhook (a single JSON object with `type`) to the channel's URL."""
    if not channel.webhook_url or channel.archived:
        return
    body = {
        "type": event_type,
        "channelId": str(channel.pk),
        "eventId": str(next_event_id()),
        "eventTimestamp": _iso_now(),
    }
    body.update(payload)
    body["type"] = event_type
    # HubSpot sends these ids as strings in channel events (contract §5.4).
    for key in ("portalId", "channelId", "channelAccountId"):
        if key in body and body[key] is not None:
            body[key] = str(body[key])
    if "portalId" not in body and body.get("channelAccountId"):
        account = (
            SandboxChannelAccount.objects.filter(pk=body["channelAccountId"]).select_related("portal").first()
        )
        if account:
            body["portalId"] = str(account.portal.portal_id)
    _queue_delivery(channel.app, Delivery.Kind.CHANNEL, channel.webhook_url, body)


def _iso_now() -> str:
    return iso(timezone.now())


# The outbox of the current transaction --------------------------------------------------------


@dataclass(eq=False)  # on-commit hooks are matched by identity, never by value
class _Outbox:
    """Deliveries created in one transaction; called by Django once it commits."""

    connection: object
    delivery_ids: list[int] = field(default_factory=list)
    app_batches: dict[tuple[int, str], int] = field(default_factory=dict)
    done: bool = False

    def is_open(self) -> bool:
        # Django drops on-commit hooks of a rolled-back transaction or savepoint without telling
        # anyone, so "our hook is still queued" is what proves this outbox still belongs to the
        # transaction in progress.
        if self.done:
            return False
        return any(func is self for _, func, _ in self.connection.run_on_commit)

    def __call__(self) -> None:
        self.done = True
        dispatch(self.delivery_ids)


_local = threading.local()


def _open_outbox() -> _Outbox | None:
    """The outbox of the transaction in progress on this thread, if it has one."""
    connection = transaction.get_connection(router.db_for_write(Delivery))
    outbox = getattr(_local, "outbox", None)
    if outbox is not None and outbox.connection is connection and outbox.is_open():
        return outbox
    return None


def _queue_delivery(app: SandboxApp, kind: str, url: str, body) -> tuple[Delivery, _Outbox]:
    delivery = Delivery.objects.create(app=app, kind=kind, url=url, body=body)
    outbox = _open_outbox()
    if outbox is not None:
        outbox.delivery_ids.append(delivery.pk)
        return delivery, outbox
    outbox = _Outbox(transaction.get_connection(router.db_for_write(Delivery)))
    outbox.delivery_ids.append(delivery.pk)
    _local.outbox = outbox
    # Inside a transaction this runs after the outermost commit; outside one it runs right away.
    # robust: the change is committed by then, a failing hand-off must not turn it into a 500.
    transaction.on_commit(outbox, robust=True)
    return delivery, outbox


def _queue_app_events(app: SandboxApp, url: str, events: list[dict]) -> None:
    key = (app.pk, url)
    pending = list(events)
    outbox = _open_outbox()
    batch_id = outbox.app_batches.get(key) if outbox is not None else None
    if batch_id is not None:
        batch = Delivery.objects.filter(
            pk=batch_id, app=app, url=url, status=Delivery.Status.PENDING, attempts=0
        ).first()
        # None when a rolled-back savepoint took the row with it; start a new batch then.
        if batch is not None and len(batch.body) < MAX_EVENTS_PER_REQUEST:
            room = MAX_EVENTS_PER_REQUEST - len(batch.body)
            batch.body = [*batch.body, *pending[:room]]
            batch.save(update_fields=["body"])
            pending = pending[room:]
    while pending:
        chunk, pending = pending[:MAX_EVENTS_PER_REQUEST], pending[MAX_EVENTS_PER_REQUEST:]
        delivery, outbox = _queue_delivery(app, Delivery.Kind.APP, url, chunk)
        outbox.app_batches[key] = delivery.pk


def dispatch(delivery_ids: list[int]) -> None:
    """Hand committed deliveries to the sending task (applying the reorder realism switch)."""
    ids = list(delivery_ids)
    if SandboxBehaviour.current().reorder_deliveries:
        ids.reverse()
        # Events inside one array come out of order too; receivers must not rely on order.
        for delivery in Delivery.objects.filter(pk__in=ids, kind=Delivery.Kind.APP, attempts=0):
            if len(delivery.body) > 1:
                delivery.body = list(reversed(delivery.body))
                delivery.save(update_fields=["body"])
    for delivery_id in ids:
        # Broker down: the row stays pending with no next_attempt_at, so the next sweep sends it.
        jobs.enqueue(jobs.DELIVER_SANDBOX_WEBHOOK, delivery_id, what=f"sandbox webhook {delivery_id}")


# Sending -----------------------------------------------------------------------------------------


def retry_delay(attempts_made: int) -> float:
    """Seconds before the next attempt: exponential with jitter, like HubSpot, but compressed.

    HubSpot spreads 10 tries over 24 h; the sandbox uses 5 s, 10 s, 20 s ... capped at 50 minutes
    (below the broker's 1 h visibility timeout) so a demo or a test can watch retries happen.
    """
    base = float(getattr(settings, "SANDBOX_WEBHOOK_RETRY_BASE_SECONDS", 5))
    cap = float(getattr(settings, "SANDBOX_WEBHOOK_RETRY_MAX_SECONDS", 3000))
    delay = min(base * 2 ** max(attempts_made - 1, 0), cap)
    return delay * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not security


@dataclass
class Attempt:
    delivery_id: int
    sent: bool  # False when the delivery was not due, already done, or gone
    ok: bool = False
    status: str = ""
    retry_in: float | None = None


def _claim(delivery_id: int, *, manual: bool) -> bool:
    now = timezone.now()
    rows = Delivery.objects.filter(pk=delivery_id)
    if not manual:
        rows = rows.filter(status=Delivery.Status.PENDING).filter(
            Q(next_attempt_at__isnull=True)
            | Q(next_attempt_at__lte=now + timedelta(seconds=DUE_SLACK_SECONDS))
        )
    return bool(rows.update(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS)))


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
        )
    except requests.Timeout:
        return None, f"timed out after {TIMEOUT_SECONDS} s"
    except requests.ConnectionError as exc:
        # requests nests the cause in a long repr; people reading the console need the gist.
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)[:300]
        return None, f"ConnectionError: {reason}"
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"


def send_delivery(delivery_id: int, *, manual: bool = False) -> Attempt:
    """Make one attempt at a delivery, if it is due (or `manual`, which sends it regardless).

    Idempotent per attempt: the row is claimed with a conditional UPDATE first, so a redelivered
    task, a sweep and a countdown retry racing for the same row send it once.
    """
    if not _claim(delivery_id, manual=manual):
        return Attempt(delivery_id, sent=False)
    delivery = Delivery.objects.select_related("app").filter(pk=delivery_id).first()
    if delivery is None:
        return Attempt(delivery_id, sent=False)
    behaviour = SandboxBehaviour.current()

    body = delivery.body
    if delivery.kind == Delivery.Kind.APP:
        # HubSpot counts attempts inside the events: 0 on the first try.
        body = [{**event, "attemptNumber": delivery.attempts} for event in body]
    data = raw_body(body)
    headers = signed_headers(delivery.app.client_secret, delivery.url, data)
    status_code, error = _post(delivery.url, data, headers)
    ok = not error
    if ok and behaviour.duplicate_deliveries:
        _, duplicate_error = _post(delivery.url, data, headers)
        if duplicate_error:
            logger.info("duplicate of sandbox webhook %s failed: %s", delivery_id, duplicate_error)

    now = timezone.now()
    delivery.body = body
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    retry_in = None
    if ok:
        delivery.status = Delivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= max(behaviour.webhook_max_attempts, 1):
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        retry_in = retry_delay(delivery.attempts)
        delivery.status = Delivery.Status.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=[
            "body",
            "attempts",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    log = logger.info if ok else logger.warning
    log(
        "sandbox webhook %s (%s) attempt %s to %s: %s",
        delivery.pk,
        delivery.kind,
        delivery.attempts,
        delivery.url,
        status_code if ok else error,
    )
    return Attempt(delivery_id, sent=True, ok=ok, status=delivery.status, retry_in=retry_in)


def due_delivery_ids(*, include_scheduled: bool = False, limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come (or all pending ones with `include_scheduled`)."""
    rows = Delivery.objects.filter(status=Delivery.Status.PENDING)
    if not include_scheduled:
        rows = rows.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
    return list(rows.order_by("id").values_list("id", flat=True)[:limit])


def send_due(*, include_scheduled: bool = False) -> list[Attempt]:
    """Send every due delivery now, in this process (the management command and "Send due now").

    `include_scheduled` also sends retries whose time has not come yet, as if it had.
    """
    return [
        send_delivery(delivery_id, manual=include_scheduled)
        for delivery_id in due_delivery_ids(include_scheduled=include_scheduled)
    ]


def event_summary(delivery: Delivery) -> str:
    """A short human description of a delivery's content, for the console."""
    if delivery.kind == Delivery.Kind.CHANNEL:
        return str((delivery.body or {}).get("type", "?"))
    counts: dict[str, int] = {}
    for event in delivery.body or []:
        label = event.get("subscriptionType", "?")
        if event.get("propertyName"):
            label += f" ({event['propertyName']}={event.get('propertyValue', '')})"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{label} x{n}" if n > 1 else label for label, n in counts.items())


__all__ = [
    "change_source",
    "dispatch",
    "due_delivery_ids",
    "emit_channel_event",
    "emit_conversation_event",
    "event_summary",
    "send_delivery",
    "send_due",
    "sign_v3",
    "signed_headers",
]
