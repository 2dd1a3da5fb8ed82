"""Registration through a real Redis broker and a real Celery worker process, on PostgreSQL.

The admin's request publishes the task on commit; the worker runs it, re-schedules itself with a
countdown while the sandbox does not list the new channel yet, and finishes. This proves the
countdown path with a broker, which eager mode (used elsewhere) skips.
"""

import time
from pathlib import Path

import pytest

from connections import registration
from connections.models import ChannelRegistration, RegistrationState
from tests.connections.helpers import accounts_by_inbox, live_channels

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(hubspot, start_celery_worker):
    """A real worker, started after `hubspot` pointed settings at the live server's sandbox."""
    return start_celery_worker("registration")


def test_a_worker_registers_the_channel_through_redis(worker, with_inboxes, hubspot, behaviour):
    behaviour.channel_list_delay_seconds = 3
    behaviour.save()

    registration.request_registration(with_inboxes)

    seen = []
    deadline = time.monotonic() + 60
    while True:
        state = ChannelRegistration.objects.get(connection=with_inboxes).state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in (RegistrationState.ACTIVE, RegistrationState.FAILED):
            break
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail(f"registration stuck in {seen}:\n" + worker.communicate(timeout=15)[0])
        time.sleep(0.1)

    reg = ChannelRegistration.objects.get(connection=with_inboxes)
    assert reg.state == RegistrationState.ACTIVE, reg.detail
    assert RegistrationState.WAITING_FOR_LISTING in seen
    assert live_channels(hubspot).count() == 1
    assert {inbox: len(a) for inbox, a in accounts_by_inbox(hubspot).items()} == dict.fromkeys(
        hubspot["inbox_ids"], 1
    )
