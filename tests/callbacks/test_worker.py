"""Through a real Celery worker and Redis: emit → on-commit enqueue → worker POSTs, retries, orders."""

import time

import pytest

from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def fast_retries(monkeypatch):
    # Read by the worker subprocess (started after this fixture) from its environment.
    monkeypatch.setenv("HITL_CALLBACK_RETRY_SCHEDULE", "1,2")


def test_worker_delivers_in_order_and_retries_with_a_countdown(
    fast_retries, celery_worker, connection, secret, receiver
):
    # given: the bot fails event 1 once
    receiver.fail_sequence(1, times=1, status=503)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)

    # when: two events are emitted (each commit enqueues deliver_callbacks on Redis)
    emit_n(escalation, 2)

    # then: the worker retries 1 after its countdown, and only then sends 2
    deadline = time.monotonic() + 45
    while escalation.events.filter(delivery_status="delivered").count() < 2:
        if celery_worker.poll() is not None:
            pytest.fail("worker exited:\n" + celery_worker.stdout.read())
        if time.monotonic() > deadline:
            celery_worker.terminate()
            output = celery_worker.communicate(timeout=15)[0]
            pytest.fail(f"not delivered in 45 s (got {receiver.sequences()}):\n{output}")
        time.sleep(0.2)
    assert receiver.sequences() == [1, 1, 2]
    first = escalation.events.get(sequence=1)
    assert first.attempts == 2
    attempts = list(first.callback_attempts.order_by("pk"))
    assert [a.status_code for a in attempts] == [503, 200]
    assert all(a.task_id for a in attempts)
    assert attempts[0].task_id != attempts[1].task_id  # the retry was its own (countdown) task
