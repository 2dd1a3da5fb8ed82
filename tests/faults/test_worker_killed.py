"""Issue 7, fault tests: a Celery worker killed with SIGKILL mid-task, then a new one started.

Made deterministic by stopping the worker where it hurts, then killing it:
1. mid-POST of a callback: the bot holds the request (it has the event, the worker has no answer);
2. mid-processing of an agent's reply webhook: the test holds the escalation's row lock from
   another connection, so the worker blocks inside the lifecycle's `select_for_update`.

The guarantee, stated exactly: every event reaches the bot (distinct X-HITL-Event-Ids == the
expected events, in sequence order per escalation), and delivery is at least once: the event
whose POST was cut off by the kill is POSTed again (a bot dedupes it by X-HITL-Event-Id; it is
counted as a redelivery in the figures). Nothing else is sent twice.

How the work comes back. The killed worker's message is unacknowledged in Redis, and Redis
returns it only after the visibility timeout (1 h, settings.CELERY_BROKER_TRANSPORT_OPTIONS);
acks_late + task_reject_on_worker_lost requeue at once only when a prefork *child* dies under a
live parent, not when the whole worker goes. Recovery is the periodic sweeps', bounded by
settings: a claimed callback is retried once its claim lease expires
(HITL_CALLBACK_CLAIM_LEASE_SECONDS, 60 s) and an unprocessed webhook event once it is
HITL_SWEEP_GRACE_SECONDS (30 s) old, each within the next sweep (every 60 s). The test shortens
both and runs the sweeps every second as beat would every minute (World.beat). The restarted
worker flushes the test broker (tests/worker.py), so the killed task cannot come back within the
test: what recovers it is the sweep alone.
"""

import os
import signal

import pytest

from conversations.models import EscalationEvent, EventType, HubSpotEvent
from tests.faults.world import LockedEscalation, World, lock_waiters

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

WORKER_ENV = {
    # The worker's: a claim expires 5 s after the kill (connect + read + 2 s floor), not 60 s.
    "HITL_CALLBACK_CONNECT_TIMEOUT": "1",
    "HITL_CALLBACK_READ_TIMEOUT": "2",
    "HITL_CALLBACK_CLAIM_LEASE_SECONDS": "5",
}


def kill(worker) -> None:
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=10)


def test_worker_killed_mid_callback_and_mid_webhook(
    live_server, provisioned, faulty_bot, e2e_settings, start_celery_worker, monkeypatch, figures
):
    for name, value in WORKER_ENV.items():
        monkeypatch.setenv(name, value)
    e2e_settings.HITL_SWEEP_GRACE_SECONDS = 2  # the sweeps run here, in the test process
    world = World(live_server.url, provisioned, faulty_bot, "worker SIGKILLed x2")
    worker = start_celery_worker("first")
    (case,) = world.escalate(1)
    world.wait("escalation.opened", lambda: faulty_bot.count() >= 1)

    # 1. Killed while POSTing `assigned` to the bot.
    faulty_bot.hold_next.set()
    world.assign_all()
    assert faulty_bot.holding.wait(30), "the worker never POSTed escalation.assigned"
    kill(worker)
    faulty_bot.release.set()
    assigned = EscalationEvent.objects.get(escalation_id=case.id, type=EventType.ASSIGNED)
    worker = start_celery_worker("second")
    world.reply_round(1)
    world.wait("assigned + reply 1 at the bot", lambda: len(faulty_bot.events(case.id)) >= 3, beat=True)
    assert faulty_bot.redeliveries == [str(assigned.id)], "only the event cut off mid-POST comes twice"

    # 2. Killed while processing the webhook of reply 2 (blocked on the escalation's row lock).
    with LockedEscalation(case.id):
        world.reply_round(2)
        world.wait("the worker to block on the escalation's lock", lambda: lock_waiters() > 0)
        stuck = HubSpotEvent.objects.filter(status="pending").count()
        kill(worker)
    assert stuck >= 1, "the reply's webhook events were stored and not processed when the worker died"
    worker = start_celery_worker("third")
    world.wait("reply 2 at the bot", lambda: len(faulty_bot.events(case.id)) >= 4, beat=True)
    world.reply_round(3)
    world.close_all()
    world.finish(beat=True)
    row = world.check()
    assert row["redelivered ids"] == 1
    row["notes"] = "at least once: the POST cut off by the kill came again, same X-HITL-Event-Id"
    figures("Fault tests", **row)
