"""Order, retries, giving up, attempt records and URL checks of callback delivery (real HTTP)."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from conversations import callbacks, delivery
from conversations.models import CallbackAttempt, DeliveryStatus, EscalationEvent
from conversations.tasks import deliver_callbacks, sweep_due_callbacks
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory

pytestmark = pytest.mark.usefixtures("secret")


def later(seconds: float):
    """A clock `seconds` ahead of the real one, for deliver_pending(now=...)."""
    return lambda: timezone.now() + dt.timedelta(seconds=seconds)


def statuses(escalation):
    return list(escalation.events.order_by("sequence").values_list("delivery_status", flat=True))


def test_all_pending_events_go_out_in_sequence_order(connection, receiver):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 3)

    run = delivery.deliver_pending(escalation.pk)

    assert receiver.sequences() == [1, 2, 3]
    assert run.delivered == [1, 2, 3] and run.retry_in is None
    assert statuses(escalation) == ["delivered"] * 3
    assert all(e.delivered_at and e.attempts == 1 for e in escalation.events.all())


def test_event_after_a_failing_one_waits_until_it_succeeds(connection, receiver):
    # given: the bot answers 500, then 503, then 200 to event 1
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 3)
    calls = {"n": 0}

    def respond(envelope, seen):
        calls["n"] += 1
        if envelope["sequence"] == 1 and seen == 1:
            return 500
        if envelope["sequence"] == 1 and seen == 2:
            return 503
        return 200

    receiver.respond = respond

    # when / then: each failure stops the run; nothing behind event 1 is sent
    run = delivery.deliver_pending(escalation.pk)
    assert receiver.sequences() == [1] and run.retry_in is not None
    assert statuses(escalation) == ["pending"] * 3

    # a run before the retry is due sends nothing
    assert delivery.deliver_pending(escalation.pk).attempts == 0
    assert receiver.sequences() == [1]

    run = delivery.deliver_pending(escalation.pk, now=later(11))
    assert receiver.sequences() == [1, 1]
    assert statuses(escalation) == ["pending"] * 3

    run = delivery.deliver_pending(escalation.pk, now=later(11 + 31))
    assert receiver.sequences() == [1, 1, 1, 2, 3]
    assert statuses(escalation) == ["delivered"] * 3
    assert escalation.events.get(sequence=1).attempts == 3


def test_backoff_follows_the_schedule_with_jitter(connection, receiver):
    receiver.respond = lambda envelope, seen: 503
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)
    offset = 0.0
    waits = []
    for _ in range(7):
        before = timezone.now() + dt.timedelta(seconds=offset)
        delivery.deliver_pending(escalation.pk, now=later(offset))
        event.refresh_from_db()
        wait = (event.next_attempt_at - before).total_seconds()
        waits.append(wait)
        offset += wait + 1
    assert event.attempts == 7 and event.delivery_status == "pending"
    for wait, base in zip(waits, [10, 30, 60, 300, 900, 3600, 3600], strict=True):
        assert base * 0.8 - 1 <= wait <= base + 1, waits


def test_gives_up_after_max_age_then_continues_with_the_next_event(connection, receiver):
    # given: event 1 keeps failing and is older than 24 h, with the whole schedule behind it
    receiver.fail_sequence(1, times=100, status=500)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 2)
    EscalationEvent.objects.filter(escalation=escalation, sequence=1).update(attempts=6)

    # when: still younger than 24 h: retried, not given up
    delivery.deliver_pending(escalation.pk, now=later(23 * 3600))
    assert statuses(escalation) == ["pending", "pending"]

    # when: past 24 h
    run = delivery.deliver_pending(escalation.pk, now=later(24 * 3600 + 3600))

    # then: 1 is FAILED, 2 went out right after
    assert run.failed == [1] and run.delivered == [2]
    assert statuses(escalation) == ["failed", "delivered"]
    assert receiver.sequences() == [1, 1, 2]


def test_manual_retry_requeues_a_failed_event(connection, receiver, django_capture_on_commit_callbacks):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)
    EscalationEvent.objects.filter(pk=event.pk).update(delivery_status=DeliveryStatus.FAILED, attempts=9)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.retry_event(event) is True
    assert receiver.sequences() == [1]
    event.refresh_from_db()
    assert event.delivery_status == "delivered" and event.attempts == 1
    assert delivery.retry_event(event) is False  # only FAILED events
    assert delivery.retry_failed(escalation) == 0


def test_every_attempt_is_recorded_with_status_duration_error_and_excerpt(connection, receiver, settings):
    # given: 500 with a body holding a token, then too slow (read timeout), then 200
    answers = iter([500, ("sleep", 1.0, 200), 200])
    receiver.respond = lambda envelope, seen: next(answers)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)

    delivery.deliver_pending(escalation.pk, task_id="task-1")
    delivery.deliver_pending(escalation.pk, now=later(11), task_id="task-2")
    delivery.deliver_pending(escalation.pk, now=later(50), task_id="task-3")

    first, second, third = CallbackAttempt.objects.filter(event=event).order_by("pk")
    assert (first.status_code, first.error, first.task_id) == (500, "HTTP 500", "task-1")
    assert "bot down" in first.response_excerpt and "s3cr3t-tok" not in first.response_excerpt
    assert second.status_code is None and "read timeout" in second.error and second.task_id == "task-2"
    assert second.duration_ms >= 400
    assert (third.status_code, third.error, third.task_id) == (200, "", "task-3")
    assert all(a.url == receiver.url for a in (first, second, third))
    assert all(a.duration_ms >= 0 for a in (first, second, third))


def test_connection_refused_is_a_failed_attempt(connection, receiver):
    escalation = EscalationFactory(
        connection=connection, callback_url="http://127.0.0.1:9/hitl"
    )  # discard port: nothing listens
    (event,) = emit_n(escalation, 1)
    run = delivery.deliver_pending(escalation.pk)
    attempt = event.callback_attempts.get()
    assert attempt.status_code is None and "connection" in attempt.error
    assert run.retry_in is not None


def test_errors_quoting_the_url_are_stored_without_its_token(connection, receiver, monkeypatch):
    # given: the bot's URL carries a token, and the connection fails with a message quoting the URL
    url = f"{receiver.url}?token=s3cr3t-bot-token"
    escalation = EscalationFactory(connection=connection, callback_url=url)
    (event,) = emit_n(escalation, 1)

    def unreachable(session, target, **kwargs):
        raise requests.ConnectionError(f"HTTPConnectionPool: Max retries exceeded with url: {target}")

    monkeypatch.setattr(requests.Session, "post", unreachable)  # callbacks go through a Session

    delivery.deliver_pending(escalation.pk)

    attempt = event.callback_attempts.get()
    # Connection errors are recorded in one fixed wording (no port-scan oracle), so no URL at all.
    assert attempt.error == callbacks.UNREACHABLE
    assert "s3cr3t-bot-token" not in attempt.error


def test_redirects_are_not_followed(connection, receiver):
    receiver.respond = lambda envelope, seen: 307 if seen == 1 else 200
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)
    delivery.deliver_pending(escalation.pk)
    attempt = event.callback_attempts.get()
    assert attempt.status_code == 307 and "redirect not followed" in attempt.error
    assert receiver.sequences() == [1]


def test_private_callback_refused_when_not_allowed(connection, receiver, settings):
    # given: a URL resolving to loopback while HITL_ALLOW_PRIVATE_CALLBACKS is off
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False
    url = receiver.url.replace("http://", "https://")
    escalation = EscalationFactory(connection=connection, callback_url=url)
    (event,) = emit_n(escalation, 1)

    run = delivery.deliver_pending(escalation.pk)

    # then: nothing was sent, the refusal is recorded, and the event is retried per policy
    assert receiver.received == []
    attempt = event.callback_attempts.get()
    # Refused at connect time, recorded like an unreachable host (no port-scan oracle).
    assert attempt.error == callbacks.UNREACHABLE
    assert attempt.status_code is None
    event.refresh_from_db()
    assert event.delivery_status == "pending" and event.attempts == 1 and run.retry_in is not None

    # plain http is refused too
    escalation.callback_url = receiver.url
    escalation.save()
    delivery.deliver_pending(escalation.pk, now=later(11))
    assert "https" in event.callback_attempts.order_by("-pk").first().error
    assert receiver.received == []


def test_escalation_without_callback_url_is_pull_only(connection, receiver):
    escalation = EscalationFactory(connection=connection, callback_url="")
    emit_n(escalation, 2)
    assert statuses(escalation) == ["no_callback", "no_callback"]
    assert delivery.deliver_pending(escalation.pk).attempts == 0
    assert delivery.due_escalation_ids(now=timezone.now() + dt.timedelta(hours=1)) == []


def test_eager_mode_makes_one_attempt_and_leaves_the_retry_to_the_sweep(
    connection, receiver, settings, django_capture_on_commit_callbacks
):
    # given: eager tasks (the embedded install) and a bot that is down
    assert settings.CELERY_TASK_ALWAYS_EAGER
    receiver.respond = lambda envelope, seen: 503
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)

    # when: the event is emitted and its transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        emit_n(escalation, 1)

    # then: exactly one POST, not a retry loop inside the request
    assert receiver.sequences() == [1]
    event = escalation.events.get()
    assert event.delivery_status == "pending" and event.next_attempt_at > timezone.now()

    # when the retry is due, the sweep sends it
    receiver.respond = None
    EscalationEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    assert sweep_due_callbacks.delay().get() == 1
    assert receiver.sequences() == [1, 1]
    event.refresh_from_db()
    assert event.delivery_status == "delivered"


def test_sweep_enqueues_only_escalations_whose_first_pending_event_is_due(connection, receiver):
    now = timezone.now()
    due = EscalationFactory(connection=connection, callback_url=receiver.url, conversation_id="due")
    waiting = EscalationFactory(connection=connection, callback_url=receiver.url, conversation_id="waiting")
    fresh = EscalationFactory(connection=connection, callback_url=receiver.url, conversation_id="fresh")
    lost = EscalationFactory(connection=connection, callback_url=receiver.url, conversation_id="lost")
    for escalation in (due, waiting, fresh, lost):
        emit_n(escalation, 2)
    EscalationEvent.objects.filter(escalation=due, sequence=1).update(next_attempt_at=now)
    # waiting: its first event is not due, even though the second was never tried
    EscalationEvent.objects.filter(escalation=waiting, sequence=1).update(
        next_attempt_at=now + dt.timedelta(minutes=5)
    )
    # lost: never attempted and older than the grace period (the broker was down at commit)
    EscalationEvent.objects.filter(escalation=lost).update(created_at=now - dt.timedelta(minutes=5))

    assert set(delivery.due_escalation_ids(now=now)) == {due.pk, lost.pk}
    assert sweep_due_callbacks.delay().get() == 2
    assert sorted(r.json["conversation_id"] for r in receiver.received) == ["due", "due", "lost", "lost"]
    assert statuses(waiting) == ["pending", "pending"] and statuses(fresh) == ["pending", "pending"]


def test_task_is_idempotent(connection, receiver):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 2)
    assert deliver_callbacks.apply(args=(str(escalation.pk),)).get() == 2
    assert deliver_callbacks.apply(args=(str(escalation.pk),)).get() == 0
    assert receiver.sequences() == [1, 2]
    task_ids = set(CallbackAttempt.objects.values_list("task_id", flat=True))
    assert len(task_ids) == 1 and "" not in task_ids


def test_management_command_flushes_due_retries(connection, receiver):
    from io import StringIO

    from django.core.management import call_command

    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 2)
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    EscalationEvent.objects.filter(escalation=escalation).update(created_at=an_hour_ago)
    out = StringIO()
    call_command("deliver_callbacks", stdout=out)
    assert "2 attempts: 2 delivered" in out.getvalue()
    assert receiver.sequences() == [1, 2]


def test_retry_failed_requeues_every_given_up_event_in_order(
    connection, receiver, django_capture_on_commit_callbacks
):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 3)
    EscalationEvent.objects.filter(escalation=escalation, sequence__in=[1, 3]).update(
        delivery_status=DeliveryStatus.FAILED, attempts=7
    )
    EscalationEvent.objects.filter(escalation=escalation, sequence=2).update(
        delivery_status=DeliveryStatus.DELIVERED
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.retry_failed(escalation) == 2

    assert receiver.sequences() == [1, 3]
    assert statuses(escalation) == ["delivered"] * 3


def test_response_excerpt_is_truncated(connection, receiver, monkeypatch):
    from conversations import callbacks

    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)
    receiver.respond = lambda envelope, seen: 500
    monkeypatch.setattr(callbacks, "EXCERPT_CHARS", 5)
    delivery.deliver_pending(escalation.pk)
    assert len(event.callback_attempts.get().response_excerpt) == 5
