"""`queue: {position, estimated_wait_seconds, basis}` in GET /api/v1/escalations/{id}/ and in
escalation.opened: the inbox's waiting escalations oldest first, the estimate from its history."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations import lifecycle
from conversations.models import Escalation, EscalationStatus
from conversations.queue import position, queue_for, queues_for_page
from tests.api.conftest import start_body
from tests.factories import InboxFactory


def make(inbox, n: int, **fields) -> Escalation:
    return Escalation.objects.create(
        connection=inbox.connection,
        inbox=inbox,
        conversation_id=f"c-{n}-{fields.get('status', 'x')}-{timezone.now().timestamp()}",
        user_name="U",
        user_email="u@example.com",
        title="Help",
        **fields,
    )


def backdate(esc: Escalation, **times) -> None:
    Escalation.objects.filter(pk=esc.pk).update(**times)
    esc.refresh_from_db()


@pytest.mark.django_db
def test_position_counts_only_earlier_waiting_escalations_of_the_same_inbox(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    other_inbox = InboxFactory(connection=inbox.connection)
    now = timezone.now()
    first = make(inbox, 1, status=EscalationStatus.OPEN)
    backdate(first, created_at=now - dt.timedelta(minutes=5))
    taken = make(inbox, 2, status=EscalationStatus.ASSIGNED, agent_actor_id="A-1")
    backdate(taken, created_at=now - dt.timedelta(minutes=4))
    closed = make(inbox, 3, status=EscalationStatus.CLOSED)
    backdate(closed, created_at=now - dt.timedelta(minutes=4))
    elsewhere = make(other_inbox, 4, status=EscalationStatus.OPEN)
    backdate(elsewhere, created_at=now - dt.timedelta(minutes=4))
    second = make(inbox, 5, status=EscalationStatus.REQUESTED)
    backdate(second, created_at=now - dt.timedelta(minutes=3))
    third = make(inbox, 6, status=EscalationStatus.OPEN)

    assert [position(e) for e in (first, second, third)] == [1, 2, 3]
    assert position(elsewhere) == 1
    assert queue_for(taken) is None and queue_for(closed) is None


@pytest.mark.django_db
def test_a_list_page_numbers_each_inbox_queue_as_position_does(tenant_a):
    inbox = InboxFactory(connection__tenant=tenant_a)
    other_inbox = InboxFactory(connection=inbox.connection)
    now = timezone.now()
    rows = []
    for n, (box, status, minutes) in enumerate(
        [
            (inbox, EscalationStatus.OPEN, 9),
            (other_inbox, EscalationStatus.OPEN, 8),
            (inbox, EscalationStatus.ASSIGNED, 7),
            (inbox, EscalationStatus.REQUESTED, 6),
            (inbox, EscalationStatus.OPEN, 6),  # the same instant: the pk breaks the tie
            (other_inbox, EscalationStatus.REQUESTED, 2),
            (inbox, EscalationStatus.OPEN, 1),
        ]
    ):
        esc = make(box, n, status=status, agent_actor_id="A-1" if status == EscalationStatus.ASSIGNED else "")
        backdate(esc, created_at=now - dt.timedelta(minutes=minutes))
        rows.append(esc)
    # A page holding only some of the queue still numbers them within the whole queue.
    page = [rows[6], rows[2], rows[5], rows[4]]

    queues = queues_for_page(page, now=now)

    assert set(queues) == {rows[6].pk, rows[5].pk, rows[4].pk}  # the assigned one is not waiting
    assert {pk: q["position"] for pk, q in queues.items()} == {
        e.pk: position(e) for e in page if e.pk in queues
    }
    assert queues[rows[6].pk]["position"] == 4 and queues[rows[5].pk]["position"] == 2


@pytest.mark.django_db
def test_queue_estimate_uses_the_inbox_history_only(tenant_a, tenant_b):
    inbox = InboxFactory(connection__tenant=tenant_a)
    foreign = InboxFactory(connection__tenant=tenant_b)
    now = timezone.now()
    for n, wait in enumerate([60, 120, 180, 240, 300]):
        done = make(inbox, 10 + n, status=EscalationStatus.CLOSED)
        backdate(
            done,
            created_at=now - dt.timedelta(days=1),
            assigned_at=now - dt.timedelta(days=1) + dt.timedelta(seconds=wait),
        )
    waiting = make(inbox, 20, status=EscalationStatus.OPEN)
    assert queue_for(waiting, now=waiting.created_at) == {
        "position": 1,
        "estimated_wait_seconds": 180,
        "basis": "inbox_recent",
    }
    # Another tenant's inbox sees none of that history.
    alone = make(foreign, 21, status=EscalationStatus.OPEN)
    assert queue_for(alone) == {"position": 1, "estimated_wait_seconds": None, "basis": "none"}


@pytest.mark.django_db(transaction=True)
def test_queue_in_the_api_and_in_escalation_opened(bot):
    first = bot.post("escalations/", start_body(conversation_id="conv-q1")).json()
    second = bot.post("escalations/", start_body(conversation_id="conv-q2")).json()
    assert second["queue"] == {"position": 2, "estimated_wait_seconds": None, "basis": "none"}

    got = bot.get(f"escalations/{first['id']}/").json()
    assert got["queue"] == {"position": 1, "estimated_wait_seconds": None, "basis": "none"}
    events = bot.get(f"escalations/{second['id']}/events/").json()["results"]
    assert events[0]["type"] == "escalation.opened"
    assert events[0]["data"]["queue"]["position"] == 2

    lifecycle.mark_assigned(Escalation.objects.get(pk=first["id"]), actor_id="A-1", name="Bo")
    assert bot.get(f"escalations/{first['id']}/").json()["queue"] is None
    assert bot.get(f"escalations/{second['id']}/").json()["queue"]["position"] == 1
    # The list does not compute it (two queries a row).
    assert {e["queue"] for e in bot.get("escalations/").json()["results"]} == {None}
