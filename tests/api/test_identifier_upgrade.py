"""A deployment registered before delivery identifiers heals on the first escalation: publishing
holds the messages back, queues registration, and once the accounts are replaced they go out
naming the new account's identifier."""

import pytest

from connections.models import ConnectedInbox
from conversations.models import Escalation, PublishStatus
from conversations.tasks import publish_escalation
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxMessage
from tests.api.conftest import start_body

pytestmark = pytest.mark.django_db(transaction=True)


def as_registered_the_old_way():
    SandboxChannel.objects.update(
        capabilities={
            "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER"],
            "threadingModel": "INTEGRATION_THREAD_ID",
        }
    )
    SandboxChannelAccount.objects.update(delivery_identifier_type="", delivery_identifier_value="")
    ConnectedInbox.objects.update(delivery_identifier="")
    return set(SandboxChannelAccount.objects.values_list("pk", flat=True))


def test_first_escalation_after_the_upgrade_registers_again_then_publishes(bot, provisioned):
    old_accounts = as_registered_the_old_way()

    response = bot.post("escalations/", start_body())
    assert response.status_code == 201, response.text
    esc = Escalation.objects.get()

    # Registration ran (eagerly, once queued): every inbox has a new account with its identifier.
    assert not ConnectedInbox.objects.filter(delivery_identifier="").exists()
    assert (
        set(SandboxChannelAccount.objects.filter(authorized=False).values_list("pk", flat=True))
        == old_accounts
    )
    assert (
        "CHANNEL_SPECIFIC_OPAQUE_ID" in SandboxChannel.objects.get().capabilities["deliveryIdentifierTypes"]
    )

    publish_escalation.delay(str(esc.pk))  # what the sweep does with the held-back messages

    esc.refresh_from_db()
    assert list(esc.messages.values_list("publish_status", flat=True)) == [PublishStatus.PUBLISHED] * 3
    inbox = ConnectedInbox.objects.get(pk=esc.inbox_id)
    messages = SandboxMessage.objects.filter(thread_id=int(esc.hubspot_thread_id), type="MESSAGE")
    assert messages.count() == 3
    for message in messages:
        assert message.thread.channel_account_id == int(inbox.channel_account_id)
        assert message.recipients[0]["deliveryIdentifier"]["value"] == inbox.delivery_identifier
