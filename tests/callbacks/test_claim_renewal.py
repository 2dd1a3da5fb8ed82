"""The claim on an event is renewed while its POST runs (a slow bot is not sent the event twice),
and a worker that is stopping claims nothing more (issue 16: lost work resumes within seconds)."""

import threading
import time

import pytest

from conversations import delivery
from conversations.models import DeliveryStatus, EscalationEvent
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs

pytestmark = [pytest.mark.usefixtures("secret"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def short_lease(settings):
    settings.HITL_CALLBACK_CLAIM_LEASE_SECONDS = 3
    settings.HITL_CALLBACK_READ_TIMEOUT = 10
    return settings


def test_a_bot_slower_than_the_lease_keeps_the_claim(connection, receiver, short_lease):
    receiver.delay = 5.0  # answers well after one lease (3 s) would have expired
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    with captured_jobs():  # stored, not sent yet
        (event,) = emit_n(escalation, 1)
    first: list = []
    sending = threading.Thread(target=lambda: first.append(delivery.deliver_pending(escalation.pk)))
    sending.start()
    time.sleep(4)  # past the first lease: a sweep or another worker tries the same escalation
    second = delivery.deliver_pending(escalation.pk)
    sending.join(timeout=15)

    assert second.attempts == 0, "the claim expired under a live POST: the bot got the event twice"
    assert first[0].delivered == [1]
    assert len(receiver.received) == 1
    event.refresh_from_db()
    assert (event.delivery_status, event.next_attempt_at) == (DeliveryStatus.DELIVERED, None)


def test_a_stopping_worker_claims_nothing_and_asks_to_be_queued_again(connection, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "_stopping", threading.Event())
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    with captured_jobs():
        emit_n(escalation, 2)
    delivery.stop_claiming()

    run = delivery.deliver_pending(escalation.pk)

    assert (run.attempts, run.retry_in) == (0, 0)
    assert receiver.received == []
    assert set(EscalationEvent.objects.values_list("next_attempt_at", flat=True)) == {None}
