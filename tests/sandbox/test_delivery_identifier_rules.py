"""The sandbox holds publishes and channel accounts to delivery identifiers as HubSpot does, and
records the contact a thread is associated with (associateWithContactId)."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxInbox, SandboxThread

NEW = "/conversations/custom-channels/2026-03"
BOT = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"}


@pytest.fixture(autouse=True)
def _db(db):
    return db


def publish(api, portal, channel, account, **changes):
    body = {
        "channelAccountId": str(account.pk),
        "messageDirection": "INCOMING",
        "text": "hello",
        "timestamp": "2026-03-01T12:00:00Z",
        "attachments": [],
        "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+447700900999"}}],
        "recipients": [{"deliveryIdentifier": BOT}],
        "integrationThreadId": "conv-1",
        "integrationIdempotencyId": "m-1",
    } | changes
    return api.post(f"{NEW}/{channel.pk}/messages", body, **portal.bearer())


def test_publish_naming_the_account_by_its_identifier_is_accepted(api, portal, channel, account):
    response = publish(api, portal, channel, account)
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "recipients",
    [
        [],
        [{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-2"}}],
        # The account's numeric id is not its delivery identifier.
        [{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "ACCOUNT_ID"}}],
        [{"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "bot-1"}}],
    ],
)
def test_publish_whose_recipient_is_not_the_accounts_identifier_is_refused(
    api, portal, channel, account, recipients
):
    for item in recipients:
        if item["deliveryIdentifier"]["value"] == "ACCOUNT_ID":
            item["deliveryIdentifier"]["value"] = str(account.pk)
    response = publish(api, portal, channel, account, recipients=recipients)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert not SandboxThread.objects.exists()


def test_outgoing_publish_must_be_sent_by_the_account(api, portal, channel, account):
    visitor = [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+447700900999"}}]
    wrong = publish(
        api,
        portal,
        channel,
        account,
        messageDirection="OUTGOING",
        senders=[{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "x"}}],
        recipients=visitor,
    )
    right = publish(
        api,
        portal,
        channel,
        account,
        messageDirection="OUTGOING",
        senders=[{"deliveryIdentifier": BOT}],
        recipients=visitor,
    )
    assert wrong.status_code == 400
    assert right.status_code == 201, right.json()


def test_an_account_without_identifier_cannot_publish(api, portal, channel, account):
    account.delivery_identifier_type = account.delivery_identifier_value = ""
    account.save()
    response = publish(api, portal, channel, account)
    assert response.status_code == 400
    assert "no delivery identifier" in response.json()["message"]


def test_account_identifier_type_must_be_declared_by_its_channel(api, portal):
    channel = SandboxChannel.objects.create(
        app=portal.app,
        name="Email only",
        capabilities={
            "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS"],
            "threadingModel": "DELIVERY_IDENTIFIER",
        },
    )
    inbox_id = str(portal.seed["inbox_ids"][0])
    body = {"name": "A", "inboxId": inbox_id, "authorized": True, "deliveryIdentifier": BOT}
    refused = api.post(f"{NEW}/{channel.pk}/channel-accounts", body, **portal.bearer())
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["in"] == "deliveryIdentifier.type"
    assert not SandboxChannelAccount.objects.filter(channel=channel).exists()

    email = body | {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "desk@example.com"}}
    assert api.post(f"{NEW}/{channel.pk}/channel-accounts", email, **portal.bearer()).status_code == 201


def test_two_accounts_of_a_channel_cannot_share_an_identifier(api, portal, channel, account):
    inbox = SandboxInbox.objects.get(inbox_id=portal.seed["inbox_ids"][1])
    body = {"name": "B", "inboxId": str(inbox.inbox_id), "authorized": True, "deliveryIdentifier": BOT}
    response = api.post(f"{NEW}/{channel.pk}/channel-accounts", body, **portal.bearer())
    assert response.status_code == 409
    other = body | {"deliveryIdentifier": {**BOT, "value": "bot-2"}}
    assert api.post(f"{NEW}/{channel.pk}/channel-accounts", other, **portal.bearer()).status_code == 201


def test_associate_with_contact_id_records_the_threads_contact(api, portal, channel, account):
    contact = portal.seed["contacts"][0]
    first = publish(api, portal, channel, account)
    thread = SandboxThread.objects.get(pk=int(first.json()["conversationsThreadId"]))
    # An unknown phone number: no contact matched, the thread has only a visitor.
    assert thread.contact_id is None

    second = publish(
        api, portal, channel, account, integrationIdempotencyId="m-2", associateWithContactId=contact["id"]
    )
    assert second.status_code == 201
    thread.refresh_from_db()
    assert thread.contact_id == contact["id"]
    got = api.get(f"/conversations/v3/conversations/threads/{thread.pk}", **portal.bearer()).json()
    assert got["associatedContactId"] == str(contact["id"])

    missing = publish(
        api, portal, channel, account, integrationIdempotencyId="m-3", associateWithContactId=999999
    )
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["in"] == "associateWithContactId"
