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
    escalation, thread, _ = world.escalate()
    agent = world.agent("A-1001")
    actions.assign(thread, agent)
    world.reply(thread, "On it")
    actions.set_status(thread, "CLOSED", agent)

    deadline = time.monotonic() + 60
    while True:
        escalation.refresh_from_db()
        settled = not HubSpotEvent.objects.filter(status="pending").exists()
        if escalation.status == "closed" and settled and escalation.messages.filter(role="agent").exists():
            break
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail(f"escalation stuck in {escalation.status}:\n" + worker.communicate(timeout=15)[0])
        time.sleep(0.2)

    assert [t for t, _ in bot_events(escalation)] == [
        "escalation.assigned",
        "escalation.message",
        "escalation.closed",
    ]
    assert escalation.agent_name == "Alice Agent"
    assert not HubSpotEvent.objects.filter(status="failed").exists()
