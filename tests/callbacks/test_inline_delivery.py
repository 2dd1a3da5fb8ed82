"""The webhook-processing task delivers the callbacks it caused itself, without a second broker
hop; anything it cannot send stays on the usual retry path. Real HTTP to a real receiver."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection as db
from django.db import transaction

from conversations import delivery, events
from conversations.models import (
    CallbackAttempt,
    DeliveryStatus,
    EscalationEvent,
    EscalationStatus,
    EventType,
    HubSpotEvent,
)
from conversations.tasks import callbacks as callback_tasks
from conversations.tasks.webhooks import process_hubspot_events
from tests.commits import capturing_rows, durable_commits
from tests.commits import statements as work_done
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs
from tests.webhooks.helpers import deliver, load_fixture

pytestmark = [pytest.mark.usefixtures("secret"), pytest.mark.django_db(transaction=True)]


def agent_reply(escalation, n: int) -> dict:
    message = load_fixture("OUTGOING_CHANNEL_MESSAGE_CREATED__text")
    message |= {"portalId": str(escalation.connection.portal_id), "eventId": f"evt-{n}"}
    message["channelIntegrationThreadIds"] = [str(escalation.integration_thread_id)]
    message["message"] |= {"id": f"msg-{n}", "text": f"reply {n}", "createdAt": f"2026-03-01T12:00:0{n}.000Z"}
    return message


@pytest.fixture
def assigned(connection, receiver):
    return EscalationFactory(
        connection=connection,
        callback_url=receiver.url,
        status=EscalationStatus.ASSIGNED,
        hubspot_thread_id="9001",
        agent_actor_id="A-1001",
        agent_name="Alice Agent",
    )


@pytest.fixture
def stored(client, connection):
    """Store signed channel webhooks without running their processing task; returns event ids."""

    def store(*payloads) -> list[int]:
        with captured_jobs():
            for payload in payloads:
                assert deliver(client, connection.app, "channel", payload).status_code == 200
        return list(HubSpotEvent.objects.order_by("pk").values_list("pk", flat=True))

    return store


def test_the_processing_task_delivers_the_replies_itself_in_order(assigned, receiver, stored):
    ids = stored(agent_reply(assigned, 1), agent_reply(assigned, 2))
    with captured_jobs() as enqueued:
        process_hubspot_events.apply(args=(ids,))
    # the bot has both replies once the task returns, in order, and no delivery task was queued
    assert [r.json["data"]["text"] for r in receiver.received] == ["reply 1", "reply 2"]
    assert receiver.sequences() == [1, 2]
    assert enqueued == []
    assert set(EscalationEvent.objects.values_list("delivery_status", flat=True)) == {
        DeliveryStatus.DELIVERED
    }


def test_a_redelivered_task_still_delivers_what_it_recorded(assigned, receiver, stored):
    # given: the reply was recorded, but its worker died before the POST (delivery never attempted)
    ids = stored(agent_reply(assigned, 1))
    with mock.patch("conversations.tasks.webhooks._deliver"):
        process_hubspot_events.apply(args=(ids,))
    assert receiver.received == []
    # when the broker redelivers the task, the event is not processed again, but delivered
    process_hubspot_events.apply(args=(ids,))
    assert receiver.sequences() == [1]
    assert EscalationEvent.objects.get().delivery_status == DeliveryStatus.DELIVERED


def test_a_refused_callback_is_retried_by_a_countdown_task(assigned, receiver, stored):
    receiver.respond = lambda envelope, seen: 500
    ids = stored(agent_reply(assigned, 1))
    with captured_jobs() as queued:
        process_hubspot_events.apply(args=(ids,))
    event = EscalationEvent.objects.get()
    assert (event.delivery_status, event.attempts) == (DeliveryStatus.PENDING, 1)
    assert event.next_attempt_at is not None
    assert len(receiver.received) == 1
    assert queued == []  # an eager run records next_attempt_at and leaves it to the sweep
    # from a worker (not eager), the next failure queues the retry with its countdown (2nd: 30 s)
    EscalationEvent.objects.update(next_attempt_at=None)
    with captured_jobs(as_worker=True) as queued:
        callback_tasks.deliver_now(assigned.pk, eager=False)
    [job] = queued
    assert job.name == callback_tasks.deliver_callbacks.name and job.args == (str(assigned.pk),)
    assert 0.8 * 30 <= job.countdown <= 30


def test_events_committing_inside_the_block_are_collected_not_enqueued(assigned):
    with captured_jobs() as enqueued:
        with events.deliveries_collected() as collected:
            events.emit(assigned, EventType.MESSAGE, {"text": "a"}, dedupe_key="message:a")
        assert list(collected) == [assigned.pk] and enqueued == []
        # committing after the block ended (an outer transaction): enqueued as usual
        with transaction.atomic(), events.deliveries_collected() as collected:
            events.emit(assigned, EventType.MESSAGE, {"text": "b"}, dedupe_key="message:b")
        assert list(collected) == []
        assert [(j.name, j.args) for j in enqueued] == [
            (callback_tasks.deliver_callbacks.name, (str(assigned.pk),))
        ]


# Found by `make bench`: processing took 21 statements and a second task 6 more (docs/benchmarks.md).
# Counted on PostgreSQL: SQLite takes other statements (no SELECT … FOR UPDATE, savepoints differ).
@pytest.mark.postgres
def test_an_agent_reply_is_recorded_and_delivered_in_few_statements(assigned, receiver, stored):
    ids = stored(agent_reply(assigned, 1))
    with capturing_rows(db) as queries, captured_jobs():
        process_hubspot_events.apply(args=(ids,))
    assert receiver.sequences() == [1]
    assert EscalationEvent.objects.get().delivery_status == DeliveryStatus.DELIVERED
    assert HubSpotEvent.objects.get().attempts == 1
    statements = work_done(queries.captured_queries)
    listing = "\n".join(statements)
    # routed in one read: the escalation with its connection (and app), by portal and
    # integrationThreadId; locked once to record; "already recorded?" asked once, under the lock
    routed = [s for s in statements if s.startswith('SELECT "conversations_escalation"."id"')]
    assert len(routed) == 2 and sum(" FOR UPDATE" in s for s in routed) == 1, listing
    assert not any(s.startswith('SELECT "connections_connection"') for s in statements), listing
    assert not any(s.startswith('SELECT 1 AS "a"') for s in statements), listing
    # Was 21 (2026-12-04, before; and 6 more in a second task before that). Now: the events and
    # earlier pending ones of their threads (2), routing (1), the record (lock, "recorded?" and the
    # next position, message, sequence, event: 5), the outcome with its receipt (1: a WITH … UPDATE
    # in autocommit), delivery (the claim with its event, the signing secrets, the attempt with the
    # event's new state, the claim that finds none left: 4), the channel and token for the SENT
    # report (1). BEGIN, COMMIT and savepoints not counted: one BEGIN/COMMIT pair is left, the record's.
    assert len(statements) == 14, listing
    settle = [s for s in statements if 'UPDATE "conversations_webhookreceipt"' in s]
    assert len(settle) == 1 and settle[0].startswith("WITH"), listing
    assert sum(q["sql"] == "BEGIN" for q in queries.captured_queries) == 1, listing
    # Durable commits in the worker (was 6, then 4): the reply with its event; the webhook event's
    # outcome with its receipt; the delivery's claim; the attempt with the event's new state (the
    # last claim changes no row: no commit to flush). With the webhook request's own, 5 per message.
    assert durable_commits(queries.captured_queries) == 4, listing


@pytest.mark.postgres
def test_delivery_claims_the_first_pending_event_in_the_statement_that_reads_it(assigned, receiver):
    """Per attempt: one claim (an UPDATE … RETURNING the first pending event, its escalation's URL,
    conversation and connection), the signing secrets, the attempt recorded with the event's new
    state in one statement; and one claim at the end that finds nothing. Was 5 per attempt and a
    last SELECT, with BEGIN/COMMIT around each attempt's record."""
    with captured_jobs():  # not delivered on commit: below
        for n in (1, 2):
            events.emit(assigned, EventType.MESSAGE, {"text": f"m{n}"}, dedupe_key=f"message:{n}")
    with capturing_rows(db) as queries:
        run = delivery.deliver_pending(assigned.pk)
    assert run.delivered == [1, 2] and receiver.sequences() == [1, 2]
    captured = queries.captured_queries
    listing = "\n".join(q["sql"] for q in captured)
    kinds = [
        q["sql"].split(" ", 1)[0] + (" attempt" if "callbackattempt" in q["sql"][:80] else "")
        for q in captured
    ]
    assert kinds == ["UPDATE", "SELECT", "WITH attempt"] * 2 + ["UPDATE"], listing
    assert not any(q["sql"].startswith('SELECT "conversations_escalationevent"') for q in captured), listing
    assert [q["rows"] for q in captured if q["sql"].startswith("UPDATE")] == [1, 1, 0]
    assert durable_commits(captured) == 4
    assert CallbackAttempt.objects.filter(status_code=200).count() == 2


def test_hubspot_hears_the_statuses_after_every_callback_of_the_task(assigned, connection, receiver, stored):
    """The SENT report (a HubSpot PATCH behind our rate limiter) no longer sits between one
    escalation's callback and the next one's: the task's callbacks all go first."""
    other = EscalationFactory(
        connection=connection,
        callback_url=receiver.url,
        status=EscalationStatus.ASSIGNED,
        hubspot_thread_id="9002",
        agent_actor_id="A-1001",
        agent_name="Alice Agent",
    )
    ids = stored(agent_reply(assigned, 1), {**agent_reply(other, 2), "eventId": "evt-other"})
    callbacks_seen_at_report: list[int] = []

    def report(event, status):
        callbacks_seen_at_report.append(len(receiver.received))
        return True

    with mock.patch("conversations.message_status.report_agent_message_status", report):
        process_hubspot_events.apply(args=(ids,))
    assert len(receiver.received) == 2
    assert callbacks_seen_at_report == [2, 2]
