"""The whole relay through the broker (Redis, and RabbitMQ) and a real Celery worker process, on PostgreSQL.

The sandbox's deliveries are Celery tasks too, so here the worker sends the signed webhooks to
live_server, our view (in the test process) publishes processing on commit, and the worker
processes them, calling the sandbox API over HTTP: nothing runs eagerly.
"""

import time
from pathlib import Path

import pytest

from connections.webhook_setup import ensure_app_webhooks
from conversations.models import HubSpotEvent
from sandbox.console import actions
from tests.webhooks.helpers import bot_events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def broker(request, settings):
    return {"redis": settings.TEST_REDIS_URL, "rabbitmq": settings.TEST_RABBITMQ_URL}[request.param]


@pytest.fixture
def worker(world, start_celery_worker, broker):
    assert ensure_app_webhooks(world.app)["ok"]
    return start_celery_worker("webhooks", broker=broker)


def test_webhooks_are_delivered_and_processed_by_a_real_worker(world, worker):
    _relay_and_check(world, worker, replies=["On it"])


@pytest.mark.redis
def test_requests_sharing_a_cache_wake_drains_that_relay_every_reply_once_in_order(
    world, start_celery_worker, settings, monkeypatch
):
    """With a cache every process shares (production's Redis), requests wake one pending drain
    instead of publishing per request (conversations/webhooks/wakeup.py), end to end."""
    monkeypatch.setenv("CACHE_URL", settings.TEST_REDIS_URL)  # the worker's cache
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
        }
    }
    assert ensure_app_webhooks(world.app)["ok"]
    worker = start_celery_worker("drains", broker=settings.TEST_REDIS_URL)
    _relay_and_check(world, worker, replies=[f"reply {n}" for n in range(6)])
    log = worker.output()
    # task runs are logged as name[id]; the start-up banner lists every registered task
    assert "drain_hubspot_events[" in log and "process_hubspot_events[" not in log


def _relay_and_check(world, worker, *, replies):
    escalation, thread, _ = world.escalate()
    agent = world.agent("A-1001")
    actions.assign(thread, agent)
    for text in replies:
        world.reply(thread, text)
    actions.set_status(thread, "CLOSED", agent)

    deadline = time.monotonic() + 60
    while True:
        escalation.refresh_from_db()
        settled = not HubSpotEvent.objects.filter(status="pending").exists()
        agent_messages = escalation.messages.filter(role="agent").count()
        if escalation.status == "closed" and settled and agent_messages == len(replies):
            break
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail(f"escalation stuck in {escalation.status}:\n" + worker.communicate(timeout=15)[0])
        time.sleep(0.2)

    events = bot_events(escalation)
    assert [t for t, _ in events] == [
        "escalation.assigned",
        *["escalation.message"] * len(replies),
        "escalation.closed",
    ]
    assert [data.get("text") for kind, data in events if kind == "escalation.message"] == replies
    assert escalation.agent_name == "Alice Agent"
    assert not HubSpotEvent.objects.filter(status="failed").exists()
