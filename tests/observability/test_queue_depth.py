"""hitl_celery_queue_depth reads what waits in the broker: Redis list lengths, RabbitMQ's message
count (tasks published with no worker running)."""

import pytest
from django.conf import settings

from core.metrics_view import queue_depths
from core.tasks import answer_worker_ping  # any task: nothing consumes it here
from hitl_portal.celery import app
from tests.worker import _empty, using_broker


def _queue_after_publishing(broker: str, n: int) -> int:
    _empty(broker)
    with using_broker(broker):
        for _ in range(n):
            answer_worker_ping.apply_async(args=["00000000-0000-0000-0000-000000000000"])
        depth = queue_depths(app)[app.conf.task_default_queue]
    _empty(broker)
    return depth


@pytest.mark.redis
def test_redis_queue_depth():
    assert _queue_after_publishing(settings.TEST_REDIS_URL, 3) == 3


@pytest.mark.rabbitmq
def test_rabbitmq_queue_depth():
    assert _queue_after_publishing(settings.TEST_RABBITMQ_URL, 2) == 2
