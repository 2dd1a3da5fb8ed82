"""On PostgreSQL a webhook request stores its receipt and its new events with one statement in
autocommit: no BEGIN/COMMIT pair, no read-back of the ids, no UPDATE of the receipt's status (the
1-event request's CPU was two thirds storage; docs/benchmarks.md)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import HubSpotEvent, WebhookReceipt
from tests.bench.test_ingest_statements import batch
from tests.commits import durable_commits
from tests.factories import HubSpotAppFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver

# transaction=True: the request's own BEGIN/COMMIT (if any) is what is counted.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("count", [1, 100])
def test_a_webhook_request_is_one_statement(client, count):
    app = HubSpotAppFactory()
    with captured_jobs():
        deliver(client, app, "app", batch(1000, 1))  # the process keeps the app from now on
    with captured_jobs() as queued, CaptureQueriesContext(connection) as queries:
        response = deliver(client, app, "app", batch(1, count))
    assert response.json() == {"received": count, "new": count, "duplicates": 0}
    # one statement, committed on its own (no BEGIN/COMMIT around it)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]
    assert durable_commits(queries.captured_queries) == 1
    receipt = WebhookReceipt.objects.get(event_count=count, events__dedupe_key="event:1")
    assert receipt.status == WebhookReceipt.Status.RECEIVED
    stored = list(receipt.events.order_by("pk").values_list("pk", flat=True))
    assert len(stored) == count
    assert queued[-1].args[0] == stored


def test_a_duplicate_delivery_is_one_statement_and_processed(client):
    app = HubSpotAppFactory()
    events = batch(1, 3)
    with captured_jobs():
        deliver(client, app, "app", events)
    with captured_jobs() as queued, CaptureQueriesContext(connection) as queries:
        response = deliver(client, app, "app", events + events[:1])
    assert response.json() == {"received": 4, "new": 0, "duplicates": 4}
    assert len(queries.captured_queries) == 1
    assert queued == []
    newest = WebhookReceipt.objects.get(event_count=4)
    assert newest.status == WebhookReceipt.Status.PROCESSED
    assert not newest.events.exists()
    assert HubSpotEvent.objects.filter(app=app).count() == 3
