"""A publish that reached HubSpot although the client saw a refusal (the replay of an ambiguous
failure refused) does not fail the escalation: the thread is read first."""

from unittest import mock

import pytest

from connections.hubspot import HubSpotClient, HubSpotValidationError
from conversations.models import Escalation, EscalationStatus, PublishStatus
from sandbox.models import SandboxMessage
from tests.api.conftest import start_body

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = HubSpotValidationError("integrationIdempotencyId already used", status=400)


def publishing_then_refusing(positions):
    """HubSpot stores the message, but what reaches us is a refusal (for the given calls)."""
    original = HubSpotClient.publish_message
    calls = {"n": 0}

    def publish(self, channel_id, **body):
        calls["n"] += 1
        result = original(self, channel_id, **body)
        if calls["n"] in positions:
            raise REFUSED
        return result

    return mock.patch.object(HubSpotClient, "publish_message", publish)


@pytest.mark.parametrize("refused_call", [1, 2], ids=["first-before-thread-known", "later-in-thread"])
def test_message_already_in_hubspot_is_recorded_not_failed(bot, refused_call):
    with publishing_then_refusing({refused_call}):
        response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    esc = Escalation.objects.get()
    assert esc.status == EscalationStatus.OPEN and esc.hubspot_thread_id
    held = list(
        SandboxMessage.objects.filter(thread_id=int(esc.hubspot_thread_id), type="MESSAGE").order_by(
            "created_at", "id"
        )
    )
    ours = list(esc.messages.order_by("position"))
    assert len(held) == len(ours) == 3
    assert [m.publish_status for m in ours] == [PublishStatus.PUBLISHED] * 3
    assert [m.hubspot_message_id for m in ours] == [m.message_id for m in held]


def test_a_refusal_of_a_message_hubspot_does_not_hold_still_fails(bot):
    original = HubSpotClient.publish_message

    def refuse_second(self, channel_id, **body):
        if body["integration_idempotency_id"].endswith(":2"):
            raise REFUSED
        return original(self, channel_id, **body)

    with mock.patch.object(HubSpotClient, "publish_message", refuse_second):
        bot.post("escalations/", start_body())

    esc = Escalation.objects.get()
    assert esc.status == EscalationStatus.FAILED
    assert esc.messages.get(position=2).publish_status == PublishStatus.FAILED
