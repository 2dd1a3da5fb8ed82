"""Issue 7, fault tests: HubSpot's and the bot's misbehaviour, with a real worker on PostgreSQL + Redis.

Every scenario ends in World.check(): each event delivered to the bot exactly once in sequence
order, each of our messages in HubSpot's thread exactly once in order, counted and printed in the
figures table. No sweep runs here: every retry is the worker's own (countdowns through the broker).
tests/e2e/test_escalation_flow.py does one escalation through the same faults; these run many at
once, so retries, duplicates and reorderings of different escalations interleave.
"""

import pytest

from conversations.models import CallbackAttempt
from sandbox.models import SandboxBehaviour
from tests.e2e import flow
from tests.faults.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


def test_hubspot_duplicates_and_reorders_webhooks(
    live_server, provisioned, faulty_bot, fault_worker, figures
):
    """5 escalations x 10 agent replies; every webhook is sent twice and each batch in reverse
    (the round of replies to all five threads is one batch, so replies of different escalations
    arrive reversed; assignments and closings likewise)."""
    world = World(live_server.url, provisioned, faulty_bot, "duplicated+reordered webhooks")
    SandboxBehaviour.objects.update_or_create(
        pk=1, defaults={"duplicate_deliveries": True, "reorder_deliveries": True}
    )
    world.escalate(5)
    world.wait("intros and transcripts in HubSpot", world.published)
    world.wait("escalation.opened x5", lambda: faulty_bot.count() >= 5)
    world.assign_all()
    for round_no in range(1, 11):
        world.reply_round(round_no)
    world.close_all()
    world.finish()
    row = world.check()
    assert row["dup webhook events suppressed"] > 0, "the sandbox must really have sent duplicates"
    figures("Fault tests", **row)


def test_hubspot_answers_429_and_5xx_to_publishes(
    live_server, provisioned, faulty_bot, fault_worker, figures
):
    """3 escalations; the first publishes get 503s (more than the client's own retries, so the
    task retries with backoff), then the user's messages meet 429s with Retry-After. The bot's
    messages stay in order in each thread, none duplicated."""
    world = World(live_server.url, provisioned, faulty_bot, "HubSpot 5xx+429 on publish")
    flow.fail_publishes([503] * 6)
    world.escalate(3)
    world.wait("intros and transcripts in HubSpot", world.published, timeout=90)
    assert SandboxBehaviour.current().fail_next_requests == 0
    flow.fail_publishes([429] * 6)
    for n in range(1, 5):
        for case in world.cases:
            world.user_says(case, f"user message {n} in {case.conversation_id}")
    world.finish(timeout=120)
    assert SandboxBehaviour.current().fail_next_requests == 0, "every injected failure was served"
    figures("Fault tests", **world.check())


def test_bot_callback_endpoint_down_then_failing(live_server, provisioned, faulty_bot, fault_worker, figures):
    """3 escalations; the bot's endpoint goes away (connection refused) while agents take the
    threads and reply three times, then answers 500 four times, then recovers. Nothing is lost,
    nothing delivered twice, order kept (retries on HITL_CALLBACK_RETRY_SCHEDULE = 1, 1, 2, 2, 3 s)."""
    world = World(live_server.url, provisioned, faulty_bot, "bot down, then 500s")
    world.escalate(3)
    world.wait("escalation.opened x3", lambda: faulty_bot.count() >= 3)
    faulty_bot.stop()
    world.assign_all()
    for round_no in range(1, 4):
        world.reply_round(round_no)
    refused = CallbackAttempt.objects.filter(error__contains="connection refused")
    world.wait("two refused attempts per escalation", lambda: refused.count() >= 6)
    faulty_bot.failures.extend([500] * 4)
    faulty_bot.start()
    world.wait("the bot to get events again", lambda: faulty_bot.count() > 3)
    world.close_all()
    world.finish()
    row = world.check()
    assert row["failed callback POSTs"] == 4
    row["notes"] = f"+ {refused.count()} attempts refused while the bot was down"
    figures("Fault tests", **row)
