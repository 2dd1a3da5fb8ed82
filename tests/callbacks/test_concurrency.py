"""Two deliveries of one escalation at once (PostgreSQL, real threads): no event POSTed twice."""

import threading

import pytest
from django.db import connection as db_connection

from conversations import delivery
from conversations.models import CallbackAttempt
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def hold_on_commit_delivery(monkeypatch):
    # Without a wrapping test transaction, emit()'s on-commit hook would deliver (eagerly) before
    # the race starts; the events are left queued for the racing workers instead.
    monkeypatch.setattr("conversations.events._schedule_delivery", lambda escalation_id: None)


def _race(escalation_id, workers: int) -> list:
    barrier = threading.Barrier(workers)
    runs, errors = [], []

    def work():
        try:
            barrier.wait(timeout=10)
            runs.append(delivery.deliver_pending(escalation_id))
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return runs


def test_concurrent_deliveries_post_each_event_once_and_in_order(connection, secret, receiver):
    # given: a slow bot widens the window in which both workers look at the same queue
    receiver.delay = 0.2
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 4)

    # when
    runs = _race(escalation.pk, workers=4)

    # then
    assert receiver.sequences() == [1, 2, 3, 4]
    assert sum(run.attempts for run in runs) == 4
    assert CallbackAttempt.objects.count() == 4
    assert set(escalation.events.values_list("delivery_status", flat=True)) == {"delivered"}


def test_concurrent_deliveries_with_a_failure_attempt_it_once(connection, secret, receiver):
    receiver.delay = 0.2
    receiver.fail_sequence(2, times=1)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 3)

    _race(escalation.pk, workers=3)

    assert receiver.sequences() == [1, 2]
    assert list(escalation.events.order_by("sequence").values_list("delivery_status", flat=True)) == [
        "delivered",
        "pending",
        "pending",
    ]
