"""`escalation.queue_updated`: sent when a waiting escalation's place or estimate changes
materially, at most once per HITL_QUEUE_UPDATE_MIN_SECONDS per escalation, each change once and
in sequence after `escalation.opened` (conversations/queue_updates.py)."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations import lifecycle, queue_updates
from conversations.models import Escalation, EscalationEvent
from conversations.tasks.queue import refresh_queue, sweep_queue_updates
from tests.factories import InboxFactory, escalation

pytestmark = pytest.mark.django_db


def events(esc: Escalation) -> list[tuple[int, str, dict]]:
    rows = EscalationEvent.objects.filter(escalation=esc).order_by("sequence")
    return [(e.sequence, e.type, e.data) for e in rows]


def opened_queue(inbox, n: int, *, minutes_ago: int) -> list[Escalation]:
    """n escalations waiting in `inbox`, started a minute apart, opened (told their place)."""
    now = timezone.now()
    found = []
    for i in range(n):
        esc = escalation(inbox, created_at=now - dt.timedelta(minutes=minutes_ago - i))
        lifecycle.mark_open(esc, thread_id=f"9{i}{esc.pk.hex[:6]}")
        found.append(esc)
    return found


def age_last_sent(*escs: Escalation, seconds: int = 31) -> None:
    Escalation.objects.filter(pk__in=[e.pk for e in escs]).update(
        queue_sent_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


@pytest.mark.parametrize(
    "sent, current, material",
    [
        ((2, None), (1, None), True),  # moved up
        ((1, 300), (1, 300), False),
        ((1, 300), (1, 250), False),  # 50 s: under a minute
        ((1, 300), (1, 230), False),  # 70 s but 23 %: under a quarter
        ((1, 600), (1, 440), True),  # 160 s and 27 %
        ((1, 100), (1, 30), True),  # 70 s and 70 %
        ((1, None), (1, 120), True),  # an estimate appeared
        ((1, 120), (1, None), True),  # and disappeared
    ],
)
def test_what_is_material(sent, current, material):
    now = {"position": current[0], "estimated_wait_seconds": current[1], "basis": "inbox_recent"}
    assert queue_updates.is_material(*sent, now) is material


def test_the_opened_event_is_what_later_updates_compare_with(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    _, second = opened_queue(inbox, 2, minutes_ago=5)

    second.refresh_from_db()
    assert (second.queue_position_sent, second.queue_estimate_sent) == (2, None)
    assert events(second)[0][2]["queue"]["position"] == 2
    age_last_sent(second)
    assert queue_updates.refresh(second.pk) is False  # nothing moved: nothing sent


def test_someone_ahead_taken_moves_the_others_up_once_each_in_sequence(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    first, second, third = opened_queue(inbox, 3, minutes_ago=5)
    age_last_sent(second, third)

    lifecycle.mark_assigned(first, actor_id="A-1", name="Alice")
    assert refresh_queue(inbox.pk) == 2
    assert refresh_queue(inbox.pk) == 0  # the same change is not sent twice

    assert [(s, t) for s, t, _ in events(second)] == [
        (1, "escalation.opened"),
        (2, "escalation.queue_updated"),
    ]
    update = events(second)[1][2]
    assert update["queue"]["position"] == 1 and update["previous"] == {
        "position": 2,
        "estimated_wait_seconds": None,
    }
    assert events(third)[1][2]["queue"]["position"] == 2
    assert [t for _, t, _ in events(first)] == ["escalation.opened", "escalation.assigned"]


def test_changes_inside_the_rate_window_wait_and_go_as_one_update(tenant_a, settings):
    settings.HITL_QUEUE_UPDATE_MIN_SECONDS = 30
    inbox = InboxFactory(connection__tenant=tenant_a)
    first, second, third = opened_queue(inbox, 3, minutes_ago=5)

    # Opened a moment ago: two moves ahead of the third within the window are held back.
    lifecycle.mark_closed(first, reason="bot_closed")
    lifecycle.mark_failed(second, reason="no_agent", message="nobody")
    assert queue_updates.refresh(third.pk) is False
    assert [t for _, t, _ in events(third)] == ["escalation.opened"]

    # Once the window passed, the sweep sends one update with the latest place (3rd → 1st).
    age_last_sent(third)
    assert sweep_queue_updates() == 1
    assert sweep_queue_updates() == 0
    [_, (sequence, kind, update)] = events(third)
    assert (sequence, kind) == (2, "escalation.queue_updated")
    assert (update["previous"]["position"], update["queue"]["position"]) == (3, 1)


def test_no_update_once_an_agent_has_it_or_it_ended(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    first, second, third = opened_queue(inbox, 3, minutes_ago=5)
    lifecycle.mark_assigned(second, actor_id="A-2", name="Bob")
    lifecycle.mark_closed(third, reason="bot_closed")
    lifecycle.mark_closed(first, reason="bot_closed")
    age_last_sent(first, second, third)

    assert sweep_queue_updates() == 0
    assert not EscalationEvent.objects.filter(type="escalation.queue_updated").exists()


def test_the_estimate_moving_with_time_is_sent_by_the_sweep(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    now = timezone.now()
    # History: ten escalations assigned after 10 minutes each.
    for i in range(10):
        started = now - dt.timedelta(days=1, minutes=i * 30)
        escalation(inbox, created_at=started, status="closed", assigned_at=started + dt.timedelta(minutes=10))
    [waiting] = opened_queue(inbox, 1, minutes_ago=0)
    waiting.refresh_from_db()
    assert abs(waiting.queue_estimate_sent - 600) <= 2

    # Six minutes later the estimate is four minutes: 360 s less, 60 % of it.
    Escalation.objects.filter(pk=waiting.pk).update(created_at=now - dt.timedelta(minutes=6))
    age_last_sent(waiting, seconds=360)
    assert sweep_queue_updates() == 1
    update = events(waiting)[-1][2]
    assert abs(update["queue"]["estimated_wait_seconds"] - 240) <= 2  # the seconds the test itself took
    assert abs(update["previous"]["estimated_wait_seconds"] - 600) <= 2
