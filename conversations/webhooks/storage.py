"""Storing a verified request: the raw receipt, then one HubSpotEvent per event, de-duplicated.

Every verified request is kept as a WebhookReceipt (HubSpot's retries included: the raw log shows
what was sent and when). Events are unique per (app, dedupe_key), so a duplicate delivery finds its
row and adds nothing, and only events seen for the first time are handed to processing.

A concurrent duplicate (two deliveries of one event racing) is caught as an IntegrityError on the
unique constraint inside a savepoint, and the loser treats it as seen (dj-stripe's
`Event.process` does the same).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.webhooks.parsing import ParsedEvent

logger = logging.getLogger(__name__)

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
        )
        known = set(
            HubSpotEvent.objects.filter(app=app, dedupe_key__in=[e.dedupe_key for e in events]).values_list(
                "dedupe_key", flat=True
            )
        )
        new_ids: list[int] = []
        for event in events:
            if event.dedupe_key in known:
                continue
            known.add(event.dedupe_key)  # the same event twice in one array
            try:
                with transaction.atomic():
                    row = HubSpotEvent.objects.create(
                        app=app,
                        receipt=receipt,
                        dedupe_key=event.dedupe_key,
                        event_type=event.event_type,
                        portal_id=event.portal_id,
                        object_id=event.object_id,
                        occurred_at=event.occurred_at,
                        payload=event.payload,
                    )
            except IntegrityError:
                continue  # a concurrent delivery of the same event won
            new_ids.append(row.pk)
        if not new_ids:
            # Nothing new to do: the receipt is complete as it stands.
            receipt.status = WebhookReceipt.Status.PROCESSED
            receipt.save(update_fields=["status"])
        else:
            enqueue_on_commit(new_ids)
    return receipt, new_ids


def enqueue_on_commit(event_ids: list[int]) -> None:
    """Queue processing of the events once the current transaction commits (see `store`)."""
    transaction.on_commit(lambda: _enqueue(event_ids))


def _enqueue(event_ids: list[int]) -> None:
    from conversations.tasks.webhooks import process_hubspot_events

    try:
        process_hubspot_events.delay(event_ids)
    except Exception:
        logger.warning(
            "broker unavailable: %d stored HubSpot event(s) left for the sweep", len(event_ids), exc_info=True
        )
