"""escalation.closed tells the bot who closed it, how long each phase took, how many messages went
each way and the agent's last words; the close call takes {"by": "bot" | "user"}."""

import datetime as dt

import pytest

from conversations import lifecycle, operator_actions
from conversations.models import Escalation
from tests.api.conftest import start_body
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def closed_event(bot, esc_id) -> dict:
    results = bot.get(f"escalations/{esc_id}/events/").json()["results"]
    closed = [e for e in results if e["type"] == "escalation.closed"]
    assert len(closed) == 1, [e["type"] for e in results]
    return closed[0]["data"]


def started(bot) -> Escalation:
    response = bot.post("escalations/", start_body())
    assert response.status_code == 201, response.text
    return Escalation.objects.get(pk=response.json()["id"])


def test_user_left_after_an_agent_replied(bot, provisioned):
    esc = started(bot)
    t0 = esc.created_at - dt.timedelta(minutes=5)
    Escalation.objects.filter(pk=esc.pk).update(created_at=t0)
    esc.refresh_from_db()
    lifecycle.mark_assigned(esc, actor_id="A-7", name="Bo Agent", at=t0 + dt.timedelta(seconds=30))
    for n, text in enumerate(["Hello!", "Can you send a photo?"], start=1):
        lifecycle.record_agent_message(
            esc,
            hubspot_message_id=f"m{n}",
            text=text,
            attachments=[],
            actor_id="A-7",
            at=t0 + dt.timedelta(seconds=30 + n),
        )
    assert bot.post(f"escalations/{esc.pk}/messages/", {"text": "sure"}).status_code == 202

    response = bot.post(f"escalations/{esc.pk}/close/", {"by": "user"})

    assert response.status_code == 200, response.text
    data = closed_event(bot, esc.pk)
    esc.refresh_from_db()
    assert esc.close_reason == data["reason"] == "user_ended"
    assert data["closed_by"] == {"kind": "user", "id": esc.hubspot_contact_id, "name": "Ada Lovelace"}
    total = round((esc.closed_at - t0).total_seconds())
    assert data["durations"] == {
        "waiting_seconds": 30,
        "assigned_seconds": total - 30,
        "total_seconds": total,
    }
    # Two transcript lines and one message (not the portal's intro); two agent replies.
    assert data["message_counts"] == {"to_agent": 3, "to_user": 2}
    assert data["last_agent_message"] == "Can you send a photo?"
    assert data["agent"]["id"] == "A-7"


def test_bot_close_by_default_while_still_waiting(bot, provisioned):
    esc = started(bot)
    assert bot.post(f"escalations/{esc.pk}/close/").status_code == 200

    data = closed_event(bot, esc.pk)
    assert data["reason"] == "bot_closed"
    assert data["closed_by"]["kind"] == "bot"
    assert data["closed_by"]["name"] == esc.api_key.name and data["closed_by"]["id"] == esc.api_key.prefix
    durations = data["durations"]
    assert durations["assigned_seconds"] == 0
    assert durations["waiting_seconds"] == durations["total_seconds"]
    assert data["message_counts"] == {"to_agent": 2, "to_user": 0}
    assert data["last_agent_message"] is None


def test_agent_and_admin_closes_name_the_closer(bot, provisioned):
    by_agent = started(bot)
    lifecycle.mark_assigned(by_agent, actor_id="A-7", name="Bo Agent")
    lifecycle.mark_closed(by_agent, reason="agent_closed")
    assert closed_event(bot, by_agent.pk)["closed_by"] == {"kind": "agent", "id": "A-7", "name": "Bo Agent"}

    by_admin = Escalation.objects.get(
        pk=bot.post("escalations/", start_body(conversation_id="conv-2")).json()["id"]
    )
    admin = UserFactory(username="alice", first_name="Alice", last_name="Admin")
    assert operator_actions.close(by_admin, user=admin).ok
    data = closed_event(bot, by_admin.pk)
    assert data["reason"] == "admin_closed"
    assert data["closed_by"] == {"kind": "admin", "id": str(admin.pk), "name": "Alice Admin"}
    by_admin.refresh_from_db()
    assert by_admin.closed_by_id == admin.pk


@pytest.mark.parametrize(
    "body, field",
    [({"by": "agent"}, "by"), ({"by": "user", "reason": "bot_closed"}, "by"), ({"reason": "nope"}, "reason")],
)
def test_close_refuses_a_bad_body_and_stays_open(bot, provisioned, body, field):
    esc = started(bot)
    response = bot.post(f"escalations/{esc.pk}/close/", body)

    assert response.status_code == 400, response.text
    assert field in response.text
    esc.refresh_from_db()
    assert esc.status == "open"
