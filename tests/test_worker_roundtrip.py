"""A real Celery worker process, a real broker (Redis, and RabbitMQ), real PostgreSQL:
request → queue → worker → row."""

import time

import pytest
from django.urls import reverse

from core.models import WorkerPing

pytestmark = [pytest.mark.postgres]


@pytest.mark.redis
def test_request_enqueues_and_worker_commits(client, superuser, celery_worker):
    assert_round_trip(client, superuser, celery_worker, "roundtrip@")


@pytest.mark.rabbitmq
def test_round_trip_with_rabbitmq_as_the_broker(client, superuser, rabbitmq_worker):
    assert_round_trip(client, superuser, rabbitmq_worker, "rabbit@")
    assert "transport:   amqp://" in rabbitmq_worker.output()


def assert_round_trip(client, superuser, celery_worker, worker_prefix: str):
    client.force_login(superuser)
    response = client.post(reverse("core:worker-ping"))
    assert response.status_code == 202
    ping_id = response.json()["id"]
    assert response.json()["completed_at"] is None

    deadline = time.monotonic() + 45
    while not WorkerPing.objects.filter(pk=ping_id, completed_at__isnull=False).exists():
        if celery_worker.poll() is not None:
            pytest.fail("worker exited:\n" + celery_worker.stdout.read())
        if time.monotonic() > deadline:
            celery_worker.terminate()
            pytest.fail("worker did not answer within 45 s:\n" + celery_worker.communicate(timeout=15)[0])
        time.sleep(0.2)

    detail = client.get(reverse("core:worker-ping-detail", args=[ping_id])).json()
    assert detail["worker"].startswith(worker_prefix)
    assert detail["completed_at"] is not None
