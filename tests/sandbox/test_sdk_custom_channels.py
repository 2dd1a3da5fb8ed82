"""Contract: hubspot_sdk (strict validation) drives the custom-channel API over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import hubspot_sdk
import pytest
from hubspot_sdk import omit

from sandbox.models import SandboxMessage, SandboxThread

CAPABILITIES = {
    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", "CHANNEL_SPECIFIC_OPAQUE_ID"],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "richText": ["HYPERLINK", "BOLD"],
    "allowOutgoingMessages": True,
}


def _channel(dev_sdk, **extra):
    return dev_sdk.conversations.custom_channels.create(
        name="Bot channel", capabilities=CAPABILITIES, webhook_url="https://bot.example/hook", **extra
    )


def test_channel_lifecycle_with_developer_key(dev_sdk):
    created = _channel(dev_sdk, channel_description="Chatbot escalations")
    assert created.name == "Bot channel"
    assert created.capabilities["threadingModel"] == "INTEGRATION_THREAD_ID"
    assert created.webhook_url == "https://bot.example/hook"
    assert created.id.isdigit()

    listed = list(dev_sdk.conversations.custom_channels.list())
    assert [c.id for c in listed] == [created.id]

    updated = dev_sdk.conversations.custom_channels.update(
        int(created.id),
        capabilities={**CAPABILITIES, "threadingModel": "DELIVERY_IDENTIFIER"},
        name="Renamed",
        webhook_url=omit,
        channel_account_connection_redirect_url=omit,
        channel_description=omit,
        channel_logo_url=omit,
    )
    assert updated.name == "Renamed"
    assert updated.capabilities["threadingModel"] == "DELIVERY_IDENTIFIER"
    assert updated.webhook_url == "https://bot.example/hook"
    assert updated.channel_description == "Chatbot escalations"

    # No SDK method for "get one channel": the raw client call still parses the model.
    fetched = dev_sdk.get(
        f"/conversations/custom-channels/2026-03/{created.id}",
        cast_to=hubspot_sdk.types.conversations.PublicChannelIntegrationChannel,
    )
    assert fetched.name == "Renamed"

    assert dev_sdk.conversations.custom_channels.delete(int(created.id)) is None
    assert list(dev_sdk.conversations.custom_channels.list()) == []
    with pytest.raises(hubspot_sdk.NotFoundError):
        dev_sdk.conversations.custom_channels.delete(int(created.id))


def test_channel_list_pages_follow_the_cursor(dev_sdk):
    ids = [_channel(dev_sdk).id for _ in range(3)]
    first = dev_sdk.conversations.custom_channels.list(limit=2)
    assert [c.id for c in first.results] == ids[:2]
    assert first.paging.next.after == "2"
    # Auto-pagination follows paging.next.after until it disappears.
    assert [c.id for c in dev_sdk.conversations.custom_channels.list(limit=2)] == ids


def test_accounts_messages_and_idempotent_replay(dev_sdk, sdk, live_portal):
    channel = _channel(dev_sdk)
    inbox_id = str(live_portal.seed["inbox_ids"][0])
    accounts = sdk.conversations.custom_channels.channel_accounts
    account = accounts.create(
        int(channel.id),
        name="Bot account",
        inbox_id=inbox_id,
        authorized=True,
        delivery_identifier={"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"},
    )
    assert account.inbox_id == inbox_id
    assert account.channel_id == channel.id
    assert account.active is True
    assert account.authorized is True
    assert account.delivery_identifier.value == "bot-1"

    fetched = sdk.conversations.custom_channels.get(int(account.id), channel_id=int(channel.id))
    assert fetched.id == account.id
    renamed = accounts.update(int(account.id), channel_id=int(channel.id), name="Renamed account")
    assert renamed.name == "Renamed account"
    listed = list(
        accounts.list(
            int(channel.id),
            delivery_identifier_type=["CHANNEL_SPECIFIC_OPAQUE_ID", "HS_EMAIL_ADDRESS"],
            delivery_identifier_value=["bot-1"],
        )
    )
    assert [a.id for a in listed] == [account.id]
    assert list(accounts.list(int(channel.id), delivery_identifier_value=["nobody"])) == []

    contact = live_portal.seed["contacts"][0]
    publish = {
        "channel_account_id": account.id,
        "message_direction": "INCOMING",
        "text": "I need a human",
        "rich_text": "<p>I need a human</p>",
        "attachments": [],
        "senders": [
            {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": contact["email"]}, "name": "Ada"}
        ],
        "recipients": [{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"}}],
        "timestamp": datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "integration_thread_id": "conv-1",
        "integration_idempotency_id": "bot-msg-1",
    }
    message = sdk.conversations.custom_channels.messages.create(int(channel.id), **publish)
    assert message.direction == "INCOMING"
    assert message.text == "I need a human"
    assert message.client.client_type == "INTEGRATION"
    assert message.client.integration_app_id == live_portal.seed["app_id"]
    assert message.created_by == f"V-{contact['id']}"
    assert message.senders[0].actor_id == f"V-{contact['id']}"
    assert message.created_at == datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert message.status.status_type == "RECEIVED"

    replay = sdk.conversations.custom_channels.messages.create(int(channel.id), **publish)
    assert replay.id == message.id
    assert SandboxMessage.objects.count() == 1

    second = sdk.conversations.custom_channels.messages.create(
        int(channel.id),
        **publish | {"integration_idempotency_id": "bot-msg-2", "timestamp": "2026-03-01T12:01:00Z"},
    )
    assert second.conversations_thread_id == message.conversations_thread_id
    thread = SandboxThread.objects.get(pk=int(message.conversations_thread_id))
    assert thread.contact_id == contact["id"]

    got = sdk.conversations.custom_channels.messages.get(message.id, channel_id=int(channel.id))
    assert got.id == message.id
    assert got.rich_text == "<p>I need a human</p>"
    updated = sdk.conversations.custom_channels.messages.update(
        message.id, channel_id=int(channel.id), status_type="READ"
    )
    assert updated.status.status_type == "READ"
    failed = sdk.conversations.custom_channels.messages.update(
        second.id, channel_id=int(channel.id), status_type="FAILED", error_message="bot offline"
    )
    assert failed.status.status_type == "FAILED"
    assert failed.status.failure_details.error_message == "bot offline"


def test_outgoing_message_with_file_attachment(dev_sdk, sdk, live_portal):
    channel = _channel(dev_sdk)
    account = sdk.conversations.custom_channels.channel_accounts.create(
        int(channel.id),
        name="Bot",
        inbox_id=str(live_portal.seed["inbox_ids"][1]),
        authorized=True,
        delivery_identifier={"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-out"},
    )
    uploaded = sdk.files.file_assets.upload(
        file=("photo.png", b"\x89PNG\r\n\x1a\nfake", "image/png"),
        folder_path="/bot",
        options='{"access": "PRIVATE"}',
    )
    contact = live_portal.seed["contacts"][1]
    message = sdk.conversations.custom_channels.messages.create(
        int(channel.id),
        channel_account_id=account.id,
        message_direction="OUTGOING",
        text="Here is the picture",
        attachments=[{"type": "FILE", "fileId": uploaded.id}],
        senders=[{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-out"}}],
        recipients=[{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": contact["phone"]}}],
        timestamp="2026-03-01T12:00:00+00:00",
        integration_thread_id="conv-out",
    )
    assert message.direction == "OUTGOING"
    assert message.created_by == f"I-{live_portal.seed['app_id']}"
    assert message.senders[0].actor_id == message.created_by
    assert message.status.status_type == "SENT"
    attachment = message.attachments[0]
    assert attachment.type == "FILE"
    assert attachment.file_id == uploaded.id
    assert attachment.file_usage_type == "IMAGE"
    assert attachment.name == "photo.png"
    assert attachment.url == uploaded.url
    assert message.recipients[0].actor_id == f"V-{contact['id']}"
