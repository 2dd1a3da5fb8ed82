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

On PostgreSQL all of it is one statement in autocommit (`_store_in_one_statement`): PostgreSQL
commits it on its own, so the request pays one round trip and one durable commit, and no ORM
composition (the 1-event request's CPU was two thirds `store`; docs/benchmarks.md). SQLite, for
`make run` and the tests without the servers, keeps the ORM's transaction.
"""

from __future__ import annotations

from django.db import connections, router, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

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
    """Save the receipt and new events in one transaction (on PostgreSQL, one statement); return
    the receipt and the new events' ids.

    Processing is enqueued on commit, so a worker never looks for rows that are not committed yet.
    The events are durable by then: if the broker cannot take the task (down, restarting), the
    request still succeeds and `sweep_pending_webhook_events` processes them once it is back. A
    5xx instead would only make HubSpot retry into rows already stored, as duplicates.
    """
    fresh: dict[str, ParsedEvent] = {}
    for event in events:  # the same event twice in one array is one event: the first one
        fresh.setdefault(event.dedupe_key, event)
    receipt = WebhookReceipt(
        app=app,
        kind=kind,
        headers=safe_headers(request),
        body=body.decode("utf-8", "replace"),
        remote_ip=request.META.get("REMOTE_ADDR") or None,
        event_count=len(events),
        request_id=request_id.current(),
    )
    alias = router.db_for_write(WebhookReceipt)
    if connections[alias].vendor == "postgresql":
        new_ids = _store_in_one_statement(alias, receipt, list(fresh.values()))
    else:
        new_ids = _store_in_a_transaction(receipt, list(fresh.values()))
    if new_ids:
        # at once in autocommit (the rows are committed); inside an atomic block, at its commit
        enqueue_on_commit(new_ids)
    return receipt, new_ids


def _store_in_a_transaction(receipt: WebhookReceipt, events: list[ParsedEvent]) -> list[int]:
    with transaction.atomic():
        receipt.save(force_insert=True)
        # Events seen before (or stored by a concurrent delivery) hit the unique constraint and
        # are skipped; the rows carrying this receipt are exactly the new ones.
        HubSpotEvent.objects.bulk_create(
            [
                HubSpotEvent(
                    app_id=receipt.app_id,
                    receipt=receipt,
                    dedupe_key=event.dedupe_key,
                    event_type=event.event_type,
                    portal_id=event.portal_id,
                    object_id=event.object_id,
                    occurred_at=event.occurred_at,
                    payload=event.payload,
                )
                for event in events
            ],
            ignore_conflicts=True,
        )
        new_ids = list(receipt.events.order_by("pk").values_list("pk", flat=True))
        if not new_ids:
            # Nothing new to do: the receipt is complete as it stands.
            receipt.status = WebhookReceipt.Status.PROCESSED
            receipt.save(update_fields=["status"])
    return new_ids


# The receipt's id is taken from its sequence first, so that the events can carry it and the
# receipt's row can follow them with its final status: PROCESSED when no event was new (a
# duplicate delivery, or the loser of a race, whose INSERT waited for the winner's commit and then
# skipped its rows). The events' foreign key to the receipt is checked at commit (Django makes it
# DEFERRABLE INITIALLY DEFERRED), by which time the receipt's row is there. The events come as one
# JSON array, in order, so their ids follow the request's order.
_ONE_STATEMENT = """
WITH receipt AS (
    SELECT nextval(pg_get_serial_sequence(%(receipts)s, 'id')) AS id
), fresh AS (
    INSERT INTO {events} (
        app_id, receipt_id, dedupe_key, event_type, portal_id, object_id, occurred_at, payload,
        status, result, attempts, created_at
    )
    SELECT %(app)s, receipt.id, e.doc->>'dedupe_key', e.doc->>'event_type',
        (e.doc->>'portal_id')::bigint, e.doc->>'object_id', (e.doc->>'occurred_at')::timestamptz,
        e.doc->'payload', %(pending)s, '', 0, %(now)s
    FROM receipt, jsonb_array_elements(%(events_json)s) WITH ORDINALITY AS e(doc, n)
    ORDER BY e.n
    ON CONFLICT (app_id, dedupe_key) DO NOTHING
    RETURNING id
), stored AS (
    INSERT INTO {receipts} (
        id, app_id, kind, headers, body, remote_ip, received_at, request_id, event_count, status,
        exception
    )
    SELECT receipt.id, %(app)s, %(kind)s, %(headers)s, %(body)s, %(remote_ip)s::inet, %(now)s,
        %(request_id)s, %(event_count)s,
        CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN %(received)s ELSE %(processed)s END, ''
    FROM receipt
    RETURNING id, status
)
SELECT stored.id, stored.status, ARRAY(SELECT id FROM fresh ORDER BY id) FROM stored
"""


def _store_in_one_statement(alias: str, receipt: WebhookReceipt, events: list[ParsedEvent]) -> list[int]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    sql = _ONE_STATEMENT.format(
        receipts=quote(WebhookReceipt._meta.db_table), events=quote(HubSpotEvent._meta.db_table)
    )
    now = timezone.now()
    params = {
        "receipts": WebhookReceipt._meta.db_table,
        "app": receipt.app_id,
        "kind": receipt.kind,
        "headers": Jsonb(receipt.headers),
        "body": receipt.body,
        "remote_ip": WebhookReceipt._meta.get_field("remote_ip").get_db_prep_save(
            receipt.remote_ip, connection
        ),
        "request_id": receipt.request_id,
        "event_count": receipt.event_count,
        "now": now,
        "pending": HubSpotEvent.Status.PENDING.value,
        "received": WebhookReceipt.Status.RECEIVED.value,
        "processed": WebhookReceipt.Status.PROCESSED.value,
        "events_json": Jsonb(
            [
                {
                    "dedupe_key": event.dedupe_key,
                    "event_type": event.event_type,
                    "portal_id": event.portal_id,
                    "object_id": event.object_id,
                    "occurred_at": event.occurred_at.isoformat() if event.occurred_at else None,
                    "payload": event.payload,
                }
                for event in events
            ]
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        receipt.pk, receipt.status, new_ids = cursor.fetchone()
    receipt.received_at = now
    receipt._state.adding = False
    receipt._state.db = alias
    return new_ids


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
