"""The relay scenario's replies exist in "HubSpot", so the SENT status the portal reports for each
one takes HubSpot's update path (it was a 404 for every reply: the refusal path was measured)."""

from __future__ import annotations

import pytest

from bench import seed
from bench.hubspot import message_id, relay_prefix
from connections.hubspot import HubSpotClient, HubSpotNotFound
from sandbox.models import SandboxMessage
from tests.webhooks.conftest import _fresh_cache, sandbox_app, world  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db]


def test_every_reply_of_the_run_is_a_message_hubspot_holds(world):  # noqa: F811 - the fixture
    provisioned = {"connection_id": world.connection.pk}
    escalations = seed.relay_escalations(provisioned, 3, "http://127.0.0.1:9/bot/callback", "run1")

    reply = message_id(f"{relay_prefix('run1', 100)}4")  # the 5th reply at 100/s, to escalation 4 % 3
    client = HubSpotClient.for_connection(world.connection)
    with pytest.raises(HubSpotNotFound):  # what every report of the bench's replies met
        client.update_message_status(world.channel.pk, reply, "SENT")

    stored = seed.relay_sandbox_messages(provisioned, escalations, "run1", {10: 4, 100: 5})

    assert stored == 9
    client.update_message_status(world.channel.pk, reply, "SENT")
    message = SandboxMessage.objects.select_related("thread").get(message_id=reply)
    assert message.status_type == "SENT"
    assert str(message.thread_id) == escalations[1]["thread_id"]
    assert message.thread.integration_thread_id == escalations[1]["integration_thread_id"]


def test_a_later_run_replaces_the_messages_of_the_one_before(world):  # noqa: F811 - the fixture
    provisioned = {"connection_id": world.connection.pk}
    escalations = seed.relay_escalations(provisioned, 2, "http://127.0.0.1:9/bot/callback", "run1")
    seed.relay_sandbox_messages(provisioned, escalations, "run1", {10: 3})
    escalations = seed.relay_escalations(provisioned, 2, "http://127.0.0.1:9/bot/callback", "run2")

    seed.relay_sandbox_messages(provisioned, escalations, "run2", {10: 1})

    assert list(
        SandboxMessage.objects.filter(message_id__startswith="bench-relay-").values_list(
            "message_id", flat=True
        )
    ) == [message_id(f"{relay_prefix('run2', 10)}0")]
