"""Storing a verified request: the raw receipt, then one HubSpotEvent per event, de-duplicated.

Every verified request is kept as a WebhookReceipt (HubSpot's retries included: the raw log shows
what was sent and when). Events are unique per (app, dedupe_key), so a duplicate delivery finds its
row and adds nothing, and only events seen for the first time are handed to processing.

The new events of a request are written with one multi-row INSERT … ON CONFLICT DO NOTHING on that
unique constraint, and read back by receipt: a batch of 100 costs a handful of statements, not
three per event (a savepoint, the insert, its release). A concurrent duplicate (two deliveries
of one event racing) makes PostgreSQL wait for the other transaction and then skip the row, so
the loser treats it as seen, as it did when it caught the IntegrityError in a savepoint
(dj-stripe's `Event.process`); SQLite's INSERT OR IGNORE does the same under its write lock.
"""

from __future__ import annotations

from django.db import transaction

from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.webhooks import wakeup
from conversations.webhooks.parsing import ParsedEvent
from core import jobs, request_id

# Never stored: credentials a proxy or client might add. HubSpot's own headers are kept.
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def safe_headers(request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS}


def store(
    *, app, kind: str, request, body: bytes, events: list[ParsedEvent]
) -> tuple[WebhookReceipt, list[int]]:
    """Save the receipt and new events in one transaction; return the receipt and new event ids.

    Processing is enqueued on commit, so a worker never looks for rows that are not committed yet.
    The events are durable by then: if the broker cannot take the task (down, restarting), the
    request still succeeds and `sweep_pending_webhook_events` processes them once it is back. A
    5xx instead would only make HubSpot retry into rows already stored, as duplicates.
    """
    with transaction.atomic():
        receipt = WebhookReceipt.objects.create(
            app=app,
            kind=kind,
            headers=safe_headers(request),
            body=body.decode("utf-8", "replace"),
            remote_ip=request.META.get("REMOTE_ADDR") or None,
            event_count=len(events),
            request_id=request_id.current(),
        )
        fresh: dict[str, HubSpotEvent] = {}
        for event in events:  # the same event twice in one array is one event
            fresh.setdefault(
                event.dedupe_key,
                HubSpotEvent(
                    app=app,
                    receipt=receipt,
                    dedupe_key=event.dedupe_key,
                    event_type=event.event_type,
                    portal_id=event.portal_id,
                    object_id=event.object_id,
                    occurred_at=event.occurred_at,
                    payload=event.payload,
                ),
            )
        # Events seen before (or stored by a concurrent delivery) hit the unique constraint and are
        # skipped; the rows carrying this receipt are exactly the new ones.
        HubSpotEvent.objects.bulk_create(fresh.values(), ignore_conflicts=True)
        new_ids = list(receipt.events.order_by("pk").values_list("pk", flat=True))
        if not new_ids:
            # Nothing new to do: the receipt is complete as it stands.
            receipt.status = WebhookReceipt.Status.PROCESSED
            receipt.save(update_fields=["status"])
        else:
            enqueue_on_commit(new_ids)
    return receipt, new_ids


def enqueue_on_commit(event_ids: list[int]) -> None:
    """Have the events processed once the current transaction commits (see `store`): with a
    broker, by waking the one pending drain (`wakeup`: no publish when one is pending already);
    eagerly, by processing these ids in place."""
    if not wakeup.coalescing():
        jobs.enqueue_on_commit(
            jobs.PROCESS_HUBSPOT_EVENTS,
            event_ids,
            what=f"processing of {len(event_ids)} stored HubSpot event(s)",
        )
        return
    transaction.on_commit(wakeup.wake)
