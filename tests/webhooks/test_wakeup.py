"""A webhook request wakes processing without a broker publish of its own: one drain at a time is
pending, and it processes every stored event, a batch at a time (conversations/webhooks/wakeup.py;
the per-request publish was a quarter of a 1-event request, docs/benchmarks.md)."""

import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from connections.hubspot import HubSpotServerError
from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.tasks import webhooks as tasks
from conversations.webhooks import wakeup
from core import jobs
from tests.bench.test_ingest_statements import batch
from tests.factories import HubSpotAppFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_drain_pending(settings):
    # a cache every process shares, as in production: this run's own Redis db
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
        }
    }
    wakeup.clear()  # the flag, and this process's memo of it
    yield
    wakeup.clear()


def test_ten_requests_publish_one_drain_which_processes_them_all(client):
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True) as published:
        for k in range(10):
            assert deliver(client, app, "app", batch(100 + k * 10, 3)).status_code == 200
    # every event durable and pending before its request answered, one broker publish for all ten
    assert HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).count() == 30
    assert [(job.name, job.args) for job in published] == [(jobs.DRAIN_HUBSPOT_EVENTS, ())]

    with captured_jobs(as_worker=True) as queued:
        tasks.drain_hubspot_events.apply()
    assert queued == []
    assert set(HubSpotEvent.objects.values_list("status", flat=True)) == {HubSpotEvent.Status.IGNORED}
    assert set(WebhookReceipt.objects.values_list("status", flat=True)) == {WebhookReceipt.Status.PROCESSED}

    # the drain cleared the flag: the next request wakes a new one
    with captured_jobs(as_worker=True) as published:
        deliver(client, app, "app", batch(900, 1))
    assert [job.name for job in published] == [jobs.DRAIN_HUBSPOT_EVENTS]


def test_an_event_stored_while_a_drain_is_pending_is_processed_by_it(client, settings):
    settings.HITL_WEBHOOK_DRAIN_BATCH = 2  # several claims in one drain
    app = HubSpotAppFactory()
    cache.add(wakeup.KEY, 1, timeout=60)  # a drain is pending (queued, not started)
    with captured_jobs(as_worker=True) as published:
        deliver(client, app, "app", batch(200, 5))
    assert published == []
    assert tasks.drain_hubspot_events.apply().get() == {"ignored": 5}
    assert cache.get(wakeup.KEY) is None


def test_a_broker_refusing_the_drain_leaves_the_events_for_the_sweep_and_the_next_request(client):
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True), mock.patch("core.jobs._send", side_effect=ConnectionError("down")):
        assert deliver(client, app, "app", batch(300, 2)).status_code == 200
    assert HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).count() == 2
    assert cache.get(wakeup.KEY) is None  # not stuck: the next request publishes
    with captured_jobs(as_worker=True) as published:
        deliver(client, app, "app", batch(310, 1))
    assert [job.name for job in published] == [jobs.DRAIN_HUBSPOT_EVENTS]
    # and the lost-event sweep still finds the first two once their grace is over
    later = timezone.now() + timezone.timedelta(minutes=5)
    assert len(tasks.lost_event_ids(now=later)) == 3


def test_without_a_shared_cache_each_request_publishes_its_own_ids(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True) as published:
        deliver(client, app, "app", batch(450, 1))
        deliver(client, app, "app", batch(460, 1))
    assert [job.name for job in published] == [jobs.PROCESS_HUBSPOT_EVENTS] * 2


def test_a_cache_that_cannot_tell_means_a_publish(client):
    app = HubSpotAppFactory()
    with (
        captured_jobs(as_worker=True) as published,
        mock.patch.object(wakeup.cache, "add", side_effect=ConnectionError("cache down")),
    ):
        deliver(client, app, "app", batch(400, 1))
        deliver(client, app, "app", batch(410, 1))
    assert [job.name for job in published] == [jobs.DRAIN_HUBSPOT_EVENTS] * 2


def test_claims_are_disjoint_and_skip_events_a_task_or_retry_owns(client):
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True):
        deliver(client, app, "app", batch(500, 5))
    ids = sorted(HubSpotEvent.objects.values_list("pk", flat=True))
    HubSpotEvent.objects.filter(pk=ids[4]).update(retry_at=timezone.now())  # a retry is due for it
    first, second, third = tasks.claim_fresh(2), tasks.claim_fresh(2), tasks.claim_fresh(2)
    assert (first, second, third) == (ids[:2], ids[2:4], [])
    # a claimed event counts as lost only a grace period after its claim, like a fresh one
    assert tasks.lost_event_ids() == []
    later = timezone.now() + timezone.timedelta(minutes=5)
    assert tasks.lost_event_ids(now=later) == ids


def test_a_retryable_error_hands_the_batch_to_a_countdown_task(client, settings):
    settings.HITL_WEBHOOK_DRAIN_BATCH = 3
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True):
        deliver(client, app, "app", batch(600, 3))
    ids = sorted(HubSpotEvent.objects.values_list("pk", flat=True))
    with (
        mock.patch.object(tasks, "process_event", side_effect=HubSpotServerError("503")),
        captured_jobs(as_worker=True) as queued,
    ):
        tasks.drain_hubspot_events.apply()
    job, again = queued
    assert job.name == jobs.PROCESS_HUBSPOT_EVENTS and job.args == (ids,) and job.countdown >= 8
    assert again.name == jobs.DRAIN_HUBSPOT_EVENTS  # for whatever else is pending
    assert HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).count() == 3
    # no longer held by the drain: each waits for the retry, which the sweep leaves to its countdown
    assert not HubSpotEvent.objects.exclude(claimed_until=None).exists()
    assert all(due > timezone.now() for due in HubSpotEvent.objects.values_list("retry_at", flat=True))
    assert tasks.lost_event_ids() == []


def test_a_drain_past_its_budget_hands_over_to_a_new_one(client, settings, monkeypatch):
    settings.HITL_WEBHOOK_DRAIN_BATCH = 2
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True):
        deliver(client, app, "app", batch(700, 5))
    cache.delete(wakeup.KEY)
    monkeypatch.setattr(tasks, "DRAIN_BUDGET_SECONDS", -1)  # spent once the first batch is done
    with captured_jobs(as_worker=True) as queued:
        assert tasks.drain_hubspot_events.apply().get() == {"ignored": 2}
    assert [job.name for job in queued] == [jobs.DRAIN_HUBSPOT_EVENTS]
    assert HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).count() == 3


def test_a_process_that_saw_a_drain_pending_does_not_ask_again_for_the_memo(client, settings):
    settings.HITL_WEBHOOK_WAKEUP_MEMO_SECONDS = 60  # longer than the test
    app = HubSpotAppFactory()
    with (
        captured_jobs(as_worker=True) as published,
        mock.patch.object(wakeup.cache, "add", wraps=wakeup.cache.add) as asked,
    ):
        for k in range(10):
            assert deliver(client, app, "app", batch(600 + k * 10, 1)).status_code == 200
    # one round trip to the cache for ten requests (ten before: one SET NX per request)
    assert asked.call_count == 1
    assert [job.name for job in published] == [jobs.DRAIN_HUBSPOT_EVENTS]
    settings.HITL_WEBHOOK_WAKEUP_MEMO_SECONDS = 0.05  # what the drain waits for before it ends
    assert tasks.drain_hubspot_events.apply().get() == {"ignored": 10}
    # the drain ran in this process: its clear forgot the memo, the next request asks again
    with captured_jobs(as_worker=True) as published:
        deliver(client, app, "app", batch(700, 1))
    assert [job.name for job in published] == [jobs.DRAIN_HUBSPOT_EVENTS]


def test_an_event_stored_after_the_drains_last_claim_under_a_memo_is_still_processed(client, settings):
    settings.HITL_WEBHOOK_WAKEUP_MEMO_SECONDS = 0.2
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True):
        deliver(client, app, "app", batch(800, 2))
    waits = []

    def another_process_stores(seconds):
        # the drain found nothing more and waits before ending: meanwhile a web process that saw
        # the flag before the drain's clear stores an event and, within its memo, asks nothing
        assert 0 < seconds <= 0.2 + tasks.MEMO_MARGIN
        if not waits:
            wakeup._known_pending_until = time.monotonic() + 0.2
            with captured_jobs(as_worker=True) as published:
                deliver(client, app, "app", batch(900, 1))
            assert published == []
        waits.append(seconds)

    with mock.patch.object(tasks.time, "sleep", side_effect=another_process_stores):
        counts = tasks.drain_hubspot_events.apply().get()
    assert len(waits) == 2  # after the first batch, and after the late event
    assert counts == {"ignored": 3}
    assert not HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).exists()
