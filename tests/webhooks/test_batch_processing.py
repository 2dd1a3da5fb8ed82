"""A processing task records the outcomes of all its events, and finishes their receipts, in one
transaction: a 100-event webhook costs one durable commit to settle, not one per event (found by
`make bench`; docs/benchmarks.md)."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.tasks.webhooks import process_hubspot_events
from tests.bench.test_ingest_statements import batch
from tests.commits import durable_commits
from tests.factories import HubSpotAppFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver

# Counted on PostgreSQL: SQLite commits differently (no separate BEGIN in the captured statements).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_batch_of_events_is_settled_in_one_commit(client):
    app = HubSpotAppFactory()
    deliver(client, app, "app", batch(1, 1))  # the process keeps the app from now on
    with captured_jobs() as queued, CaptureQueriesContext(connection) as stored:
        assert deliver(client, app, "app", batch(500, 100)).status_code == 200
    # the request stored the receipt and its 100 events with one commit, before it answered
    assert durable_commits(stored.captured_queries) == 1
    [job] = queued
    with CaptureQueriesContext(connection) as queries, captured_jobs():
        counts = process_hubspot_events.apply(args=job.args).get()
    # none of these threads is ours: every event is ignored, and recorded as such
    assert counts == {"ignored": 100}
    assert set(HubSpotEvent.objects.filter(pk__in=job.args[0]).values_list("status", flat=True)) == {
        HubSpotEvent.Status.IGNORED
    }
    assert WebhookReceipt.objects.get(event_count=100).status == WebhookReceipt.Status.PROCESSED
    assert durable_commits(queries.captured_queries) == 1


def test_a_redelivered_batch_records_nothing_again(client):
    app = HubSpotAppFactory()
    with captured_jobs() as queued:
        deliver(client, app, "app", batch(700, 3))
    [job] = queued
    process_hubspot_events.apply(args=job.args)
    before = list(HubSpotEvent.objects.order_by("pk").values_list("processed_at", "attempts"))
    with CaptureQueriesContext(connection) as queries, captured_jobs():
        process_hubspot_events.apply(args=job.args)
    assert list(HubSpotEvent.objects.order_by("pk").values_list("processed_at", "attempts")) == before
    assert not any('UPDATE "conversations_hubspotevent"' in q["sql"] for q in queries.captured_queries)


def test_a_receipt_is_finished_once_none_of_its_events_is_pending_and_failed_if_one_failed(client):
    """The outcomes and the receipt are settled in one statement on PostgreSQL, which reads the
    events as they were before it: the events it settles count as settled, the others as stored."""
    app = HubSpotAppFactory()
    with captured_jobs() as queued:
        deliver(client, app, "app", batch(900, 2))
    [job] = queued
    first, second = sorted(job.args[0])
    receipt = WebhookReceipt.objects.get(event_count=2)
    process_hubspot_events.apply(args=([first],))
    receipt.refresh_from_db()
    assert receipt.status == WebhookReceipt.Status.RECEIVED  # the second is still pending
    process_hubspot_events.apply(args=([first, second],))
    receipt.refresh_from_db()
    assert receipt.status == WebhookReceipt.Status.PROCESSED

    with captured_jobs() as queued:
        deliver(client, app, "app", batch(950, 2))
    [job] = queued
    first, second = sorted(job.args[0])
    with mock.patch("conversations.tasks.webhooks.process_event", side_effect=_fail_second(second)):
        process_hubspot_events.apply(args=([first, second],))
    assert HubSpotEvent.objects.get(pk=second).status == HubSpotEvent.Status.FAILED
    assert HubSpotEvent.objects.get(pk=first).status == HubSpotEvent.Status.IGNORED
    assert WebhookReceipt.objects.get(event_count=2, pk__gt=receipt.pk).status == WebhookReceipt.Status.FAILED


def _fail_second(second):
    from conversations.processing.dispatch import process_event

    def run(event, **options):
        if event.pk == second:
            raise RuntimeError("a bug")
        return process_event(event, **options)

    return run
