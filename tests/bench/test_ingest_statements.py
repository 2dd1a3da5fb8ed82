"""The webhook ingest path writes a batch in a fixed number of statements, not three per event
(found by `make bench`: a 100-event batch ran 305 statements; see docs/benchmarks.md)."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from conversations.models import HubSpotEvent, WebhookReceipt
from tests.factories import HubSpotAppFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver

pytestmark = pytest.mark.django_db


def batch(first: int, count: int) -> list[dict]:
    return [
        {
            "eventId": first + k,
            "subscriptionId": 102,
            "portalId": 20260301,
            "appId": 4242001,
            "occurredAt": 1772366406000 + k,
            "subscriptionType": "conversation.newMessage",
            "attemptNumber": 0,
            "objectId": 9001 + k,
            "messageId": f"m{first + k}",
            "changeFlag": "NEW_MESSAGE",
        }
        for k in range(count)
    ]


@pytest.fixture
def enqueued():
    with captured_jobs() as queued:
        yield queued


# Counted on PostgreSQL: SQLite takes other statements (one INSERT per row beyond its variable limit).
@pytest.mark.postgres
def test_a_100_event_batch_takes_a_handful_of_statements(
    client, enqueued, django_capture_on_commit_callbacks
):
    app = HubSpotAppFactory()
    deliver(client, app, "app", batch(1000, 1))  # the process keeps the app from now on (both alike)
    with CaptureQueriesContext(connection) as small:
        assert deliver(client, app, "app", batch(1, 1)).status_code == 200
    # the enqueue runs on commit, after the statements are counted
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as large:
        response = deliver(client, app, "app", batch(100, 100))
    assert response.json() == {"received": 100, "new": 100, "duplicates": 0}
    assert len(large.captured_queries) == len(small.captured_queries) <= 10
    # the 100 events are one INSERT (its commit is counted in tests/webhooks/test_batch_processing.py)
    sqls = [q["sql"] for q in large.captured_queries]
    assert sum('INSERT INTO "conversations_hubspotevent"' in sql for sql in sqls) == 1
    stored = list(HubSpotEvent.objects.filter(receipt__event_count=100).order_by("pk"))
    assert not any('FROM "connections_hubspotapp"' in q["sql"] for q in large.captured_queries)
    assert [e.dedupe_key for e in stored] == [f"event:{100 + k}" for k in range(100)]
    assert enqueued[-1].args[0] == [e.pk for e in stored]


def test_known_and_repeated_events_in_a_batch_are_not_stored_again(client, enqueued):
    app = HubSpotAppFactory()
    deliver(client, app, "app", batch(1, 50))
    mixed = batch(26, 50) + batch(60, 1)  # 25 known, 25 new, one of them twice
    response = deliver(client, app, "app", mixed)
    assert response.json() == {"received": 51, "new": 25, "duplicates": 26}
    assert HubSpotEvent.objects.filter(app=app).count() == 75
    newest = WebhookReceipt.objects.order_by("-received_at", "-pk").first()
    assert sorted(newest.events.values_list("dedupe_key", flat=True)) == sorted(
        f"event:{k}" for k in range(51, 76)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_batch_store_each_event_once(enqueued):
    from django.test import Client

    app = HubSpotAppFactory()
    events = batch(1, 100)
    results, start = [], threading.Barrier(4)

    def post():
        try:
            start.wait()
            results.append(deliver(Client(), app, "app", events).json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert sum(r["new"] for r in results) == 100
    assert HubSpotEvent.objects.filter(app=app).count() == 100
    # a delivery that lost every event to another is complete as it stands; the others await processing
    for receipt in WebhookReceipt.objects.filter(app=app):
        expected = (
            WebhookReceipt.Status.RECEIVED if receipt.events.exists() else WebhookReceipt.Status.PROCESSED
        )
        assert receipt.status == expected
