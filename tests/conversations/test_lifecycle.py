"""The escalation state machine: idempotent, terminal states, order-independent bot events."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations import lifecycle
from conversations.models import EscalationStatus
from tests.factories import EscalationFactory

T0 = timezone.now().replace(microsecond=0)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def escalation(tenant_a):
    return EscalationFactory(connection__tenant=tenant_a)


def events(esc) -> list[tuple[int, str]]:
    return list(esc.events.order_by("sequence").values_list("sequence", "type"))


def test_happy_path_events_in_order_and_idempotent(escalation):
    assert lifecycle.mark_open(escalation, thread_id="501", at=at(0))
    assert not lifecycle.mark_open(escalation, thread_id="501", at=at(0))  # replay: nothing new
    assert lifecycle.mark_assigned(escalation, actor_id="A-1", name="Bo", at=at(10))
    assert not lifecycle.mark_assigned(escalation, actor_id="A-1", name="Bo", at=at(10))
    lifecycle.record_agent_message(
        escalation, hubspot_message_id="m1", text="Hi", attachments=[], actor_id="A-1", at=at(20)
    )
    assert (
        lifecycle.record_agent_message(
            escalation, hubspot_message_id="m1", text="Hi", attachments=[], actor_id="A-1", at=at(20)
        )
        is None
    )
    assert lifecycle.mark_closed(escalation, reason="agent_closed", at=at(30))
    assert not lifecycle.mark_closed(escalation, reason="agent_closed", at=at(30))
    assert events(escalation) == [
        (1, "escalation.opened"),
        (2, "escalation.assigned"),
        (3, "escalation.message"),
        (4, "escalation.closed"),
    ]
    escalation.refresh_from_db()
    assert (escalation.status, escalation.hubspot_thread_id, escalation.close_reason) == (
        "closed",
        "501",
        "agent_closed",
    )


def test_assignment_first_still_opens_first(escalation):
    lifecycle.mark_assigned(escalation, actor_id="A-1", at=at(10))
    assert [t for _, t in events(escalation)] == ["escalation.opened", "escalation.assigned"]


def test_late_assignment_after_close_does_not_reopen(escalation):
    lifecycle.mark_open(escalation, thread_id="501", at=at(0))
    lifecycle.mark_closed(escalation, reason="agent_closed", at=at(30))
    assert not lifecycle.mark_assigned(escalation, actor_id="A-1", at=at(10))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CLOSED and escalation.agent_actor_id == ""


def test_older_assignment_arriving_late_is_ignored(escalation):
    lifecycle.mark_assigned(escalation, actor_id="A-2", at=at(20))
    assert not lifecycle.mark_assigned(escalation, actor_id="A-1", at=at(10))
    assert escalation.agent_actor_id == "A-2"


def test_reassignment_emits_again_and_unassign_returns_to_open(escalation):
    lifecycle.mark_assigned(escalation, actor_id="A-1", at=at(10))
    assert lifecycle.mark_assigned(escalation, actor_id="A-2", at=at(20))
    assert escalation.events.filter(type="escalation.assigned").count() == 2
    assert not lifecycle.mark_assigned(escalation, actor_id="", at=at(30))
    # The caller's object is refreshed on every path.
    assert (escalation.status, escalation.agent_actor_id) == (EscalationStatus.OPEN, "")


def test_message_written_before_close_is_owed_after_is_not(escalation):
    lifecycle.mark_open(escalation, thread_id="501", at=at(0))
    lifecycle.mark_closed(escalation, reason="agent_closed", at=at(30))
    before = lifecycle.record_agent_message(
        escalation, hubspot_message_id="early", text="bye", attachments=[], actor_id="A-1", at=at(25)
    )
    after = lifecycle.record_agent_message(
        escalation, hubspot_message_id="late", text="?", attachments=[], actor_id="A-1", at=at(35)
    )
    assert before is not None and after is None


def test_failed_is_terminal(escalation):
    assert lifecycle.mark_failed(escalation, reason="no_agent", message="No agent in 5 minutes.")
    assert not lifecycle.mark_closed(escalation, reason="bot_closed")
    assert not lifecycle.mark_open(escalation, thread_id="501")
    assert [t for _, t in events(escalation)] == ["escalation.failed"]
