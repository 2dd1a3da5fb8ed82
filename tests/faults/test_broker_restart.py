"""Issue 7, fault tests: the broker (Redis) crashes and restarts while HubSpot's webhooks arrive.

The broker is a redis-server of this test's own, without persistence, killed with SIGKILL: every
queued and unacknowledged task is gone with it. HubSpot (the sandbox's outbox, sent by a thread
here: HubSpot does not depend on our broker) keeps sending agent replies before, during and after
the outage, and retries whatever we do not answer 2xx.

What must hold: a webhook answered 2xx is never lost. During the outage the portal still stores
each verified webhook and answers 2xx (its events are durable in PostgreSQL; enqueueing their
processing fails, is logged, and `sweep_pending_webhook_events` picks them up once the broker is
back); never a 4xx. Afterwards every event is processed, and the bot gets every reply exactly
once, in order.
"""

import time

import pytest

from conversations.models import WebhookReceipt
from sandbox import tasks as sandbox_tasks
from tests.faults.redis_server import RedisServer
from tests.faults.world import HubSpotSender, World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

OUTAGE_ROUNDS = 3


def test_broker_restarts_while_webhooks_arrive(
    live_server, provisioned, faulty_bot, e2e_settings, start_celery_worker, monkeypatch, tmp_path, figures
):
    broker = RedisServer(tmp_path / "redis").start()
    try:
        e2e_settings.TEST_REDIS_URL = broker.url  # tests/worker.py: the worker's and our broker
        e2e_settings.HITL_SWEEP_GRACE_SECONDS = 2  # the sweeps run here (World.beat)
        e2e_settings.SANDBOX_WEBHOOK_RETRY_BASE_SECONDS = 1  # HubSpot retries sooner
        monkeypatch.setattr(sandbox_tasks.deliver_webhook, "apply_async", lambda *args, **kwargs: None)
        start_celery_worker("faults")
        world = World(live_server.url, provisioned, faulty_bot, "Redis crash+restart")
        with HubSpotSender() as hubspot:
            world.escalate(3)
            world.wait("intros and transcripts in HubSpot", world.published)
            world.assign_all()
            world.wait("escalation.assigned x3", lambda: faulty_bot.count() >= 6)
            for round_no in (1, 2):
                world.reply_round(round_no)

            broker.crash()
            down_at = time.monotonic()
            receipts_before = WebhookReceipt.objects.count()
            for round_no in range(3, 3 + OUTAGE_ROUNDS):
                world.reply_round(round_no)
            world.wait(
                "the outage's webhooks to reach the portal",
                lambda: WebhookReceipt.objects.count() >= receipts_before + 4 * OUTAGE_ROUNDS,
            )
            during = [a for a in hubspot.answers if a[2] >= down_at]
            broker.start()
            up_at = time.monotonic()

            for round_no in (6, 7):
                world.reply_round(round_no)
            world.close_all()
            world.finish(beat=True, timeout=120)

        statuses = [status for status, _, _ in during]
        assert statuses, "no webhook arrived while the broker was down"
        assert all(s is not None and (200 <= s < 300 or s >= 500) for s in statuses), statuses
        accepted = sum(1 for s in statuses if 200 <= s < 300)
        row = world.check()
        row["notes"] = (
            f"{accepted}/{len(statuses)} webhooks answered 2xx while the broker was down"
            f" ({up_at - down_at:.1f} s); slowest ack {max(t for _, t, _ in during):.2f} s"
        )
        figures("Fault tests", **row)
    finally:
        broker.stop()
