"""A drain's claim is a lease: the lost-event sweep takes back the events of a worker that died
mid-batch once the lease has expired, and never those of a batch still being processed, however
long it runs (the lease is renewed while it does)."""

import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from conversations.models import HubSpotEvent
from conversations.processing.context import Outcome
from conversations.tasks import webhooks as tasks
from conversations.webhooks import wakeup
from tests.bench.test_ingest_statements import batch
from tests.factories import HubSpotAppFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def short_lease(settings):
    settings.HITL_SWEEP_GRACE_SECONDS = 1
    settings.HITL_WEBHOOK_CLAIM_LEASE_SECONDS = 2
    cache.delete(wakeup.KEY)
    yield
    cache.delete(wakeup.KEY)


def _stored(client, first_id: int, count: int) -> list[int]:
    app = HubSpotAppFactory()
    with captured_jobs(as_worker=True):
        deliver(client, app, "app", batch(first_id, count))
    return sorted(HubSpotEvent.objects.values_list("pk", flat=True))


def test_a_batch_still_in_flight_past_the_grace_and_the_lease_is_not_swept(client, settings):
    settings.HITL_WEBHOOK_DRAIN_BATCH = 3
    _stored(client, 100, 3)
    seen: list[tuple[list[int], int]] = []

    def slow(event, *, record):
        if not seen:  # the first event of the batch takes longer than the grace and the lease
            time.sleep(3.5)
            seen.append((tasks.lost_event_ids(), tasks.sweep_pending_webhook_events()))
        return Outcome.ignored("test")

    with mock.patch.object(tasks, "process_event", side_effect=slow), captured_jobs(as_worker=True) as queued:
        assert tasks.drain_hubspot_events.apply().get() == {"ignored": 3}
    assert seen == [([], 0)]
    assert queued == []
    assert set(HubSpotEvent.objects.values_list("status", flat=True)) == {HubSpotEvent.Status.IGNORED}
    assert list(HubSpotEvent.objects.exclude(claimed_until=None)) == []  # settled: no claim left


def test_the_claim_of_a_worker_that_died_is_swept_once_its_lease_expires(client, settings):
    settings.HITL_SWEEP_GRACE_SECONDS = 30
    ids = _stored(client, 200, 3)
    claimed = tasks.claim_fresh(2)  # and the worker is killed before it processes them
    assert claimed == ids[:2]
    assert tasks.lost_event_ids() == []
    # nothing renews the lease: the claimed ones are lost once it has passed, the third (never
    # claimed) after the grace
    now = timezone.now()
    assert tasks.lost_event_ids(now=now + timezone.timedelta(seconds=2.5)) == ids[:2]
    assert tasks.lost_event_ids(now=now + timezone.timedelta(seconds=31)) == ids


def test_the_sweep_queues_a_lost_event_once_per_grace_not_on_every_tick(client, settings):
    settings.HITL_SWEEP_GRACE_SECONDS = 30
    ids = _stored(client, 300, 2)
    tasks.claim_fresh(2)  # the worker dies
    HubSpotEvent.objects.update(claimed_until=timezone.now())  # and the lease has passed
    with captured_jobs(as_worker=True) as queued:
        assert tasks.sweep_pending_webhook_events() == 2
        assert tasks.sweep_pending_webhook_events() == 0  # the next tick: its task is queued
    assert [job.args for job in queued] == [(ids,)]
    # a task that did not start within the grace (its message lost as well) is lost again
    later = timezone.now() + timezone.timedelta(seconds=31)
    assert tasks.lost_event_ids(now=later) == ids
