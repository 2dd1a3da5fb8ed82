"""Custom channels, channel accounts and publishing: validation, visibility, threading, events."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from sandbox import domain
from sandbox.models import (
    SandboxActor,
    SandboxBehaviour,
    SandboxChannel,
    SandboxChannelAccount,
    SandboxContact,
    SandboxInbox,
    SandboxMessage,
    SandboxPortal,
    SandboxThread,
)

V3 = "/conversations/v3/custom-channels"
NEW = "/conversations/custom-channels/2026-03"


def message_body(account, **changes):
    body = {
        "channelAccountId": str(account.pk),
        "messageDirection": "INCOMING",
        "text": "hello",
        "timestamp": "2026-03-01T12:00:00Z",
        "attachments": [],
        "senders": [{"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ada@example.com"}}],
        "recipients": [{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"}}],
        "integrationThreadId": "conv-1",
    }
    return body | changes


@pytest.fixture
def emitted():
    """Records what the domain asks the webhook module to send."""
    with (
        mock.patch("sandbox.webhooks.emit_conversation_event") as conversation,
        mock.patch("sandbox.webhooks.emit_channel_event") as channel,
    ):
        yield mock.Mock(conversation=conversation, channel=channel)


# Channels --------------------------------------------------------------------------------------


def test_create_channel_requires_name_and_capabilities(api, portal):
    response = api.post(f"{V3}?hapikey={portal.key}", {"name": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert "capabilities" in body["message"]
    assert body["errors"] == [
        {"message": "capabilities is required", "code": "REQUIRED_FIELD", "in": "capabilities"}
    ]


def test_invalid_capability_values_are_rejected_like_hubspot(api, portal):
    response = api.post(
        f"{NEW}?hapikey={portal.key}",
        {"name": "x", "capabilities": {"deliveryIdentifierTypes": [{"type": "HS_EMAIL_ADDRESS"}]}},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["subCategory"] == "CustomChannelsError.INVALID_CHANNEL_CAPABILITY_VALUES"
    assert body["message"].startswith("One or more Channel Capabilities specified had invalid values")


def test_new_channel_is_hidden_from_list_during_the_delay_but_gettable(api, portal, behaviour):
    SandboxBehaviour.objects.filter(pk=behaviour.pk).update(channel_list_delay_seconds=30)
    created = api.post(f"{V3}?hapikey={portal.key}", {"name": "Late", "capabilities": {}})
    assert created.status_code == 201
    channel_id = created.json()["id"]
    assert created["Location"].endswith(f"{V3}/{channel_id}")
    assert api.get(f"{V3}?hapikey={portal.key}").json() == {"total": 0, "results": []}
    assert api.get(f"{V3}/{channel_id}?hapikey={portal.key}").json()["name"] == "Late"
    SandboxChannel.objects.filter(pk=channel_id).update(listed_after=timezone.now() - timedelta(seconds=1))
    assert [c["id"] for c in api.get(f"{V3}?hapikey={portal.key}").json()["results"]] == [channel_id]


def test_other_apps_channels_are_invisible(api, portal, channel):
    from sandbox.models import SandboxApp

    other = SandboxApp.objects.create(
        app_id=7, name="Other", client_id="other", client_secret="s", developer_api_key="other-key"
    )
    assert api.get(f"{V3}/{channel.pk}?hapikey={other.developer_api_key}").status_code == 404
    assert api.get(f"{V3}/{channel.pk}?hapikey={portal.key}").status_code == 200


# Channel accounts ------------------------------------------------------------------------------


def test_account_create_validates_inbox_and_fields(api, portal, channel):
    path = f"{NEW}/{channel.pk}/channel-accounts"
    missing = api.post(path, {"name": "a"}, **portal.bearer())
    assert missing.status_code == 400
    assert missing.json()["context"]["missingFields"] == ["inboxId", "authorized"]
    unknown_inbox = api.post(path, {"name": "a", "inboxId": "1", "authorized": True}, **portal.bearer())
    assert unknown_inbox.status_code == 400
    assert unknown_inbox.json()["errors"][0]["in"] == "inboxId"
    bad_identifier = api.post(
        path,
        {
            "name": "a",
            "inboxId": str(portal.seed["inbox_ids"][0]),
            "authorized": True,
            "deliveryIdentifier": {"type": "PIGEON", "value": "x"},
        },
        **portal.bearer(),
    )
    assert bad_identifier.status_code == 400
    assert bad_identifier.json()["errors"][0]["in"] == "deliveryIdentifier.type"


def test_account_list_filters_comma_joined_and_repeated(api, portal, channel, account):
    other = SandboxChannelAccount.objects.create(
        channel=channel,
        portal=account.portal,
        inbox=account.inbox,
        name="Phone",
        delivery_identifier_type="HS_PHONE_NUMBER",
        delivery_identifier_value="+15550100999",
    )
    base = f"{V3}/{channel.pk}/channel-accounts"
    joined = api.get(f"{base}?deliveryIdentifierType=HS_PHONE_NUMBER%2CHS_EMAIL_ADDRESS", **portal.bearer())
    assert [a["id"] for a in joined.json()["results"]] == [str(other.pk)]
    repeated = api.get(
        f"{base}?deliveryIdentifierValue=bot-1&deliveryIdentifierValue=%2B15550100999", **portal.bearer()
    )
    assert repeated.json()["total"] == 2
    assert api.get(f"{base}?deliveryIdentifierType=PIGEON", **portal.bearer()).status_code == 400


def test_accounts_of_another_portal_are_404(api, portal, channel, account):
    other_portal = SandboxPortal.objects.create(portal_id=99, name="Other", hub_domain="other")
    inbox = SandboxInbox.objects.create(portal=other_portal, inbox_id=99, name="Theirs")
    theirs = SandboxChannelAccount.objects.create(channel=channel, portal=other_portal, inbox=inbox, name="x")
    assert api.get(f"{V3}/{channel.pk}/channel-accounts/{theirs.pk}", **portal.bearer()).status_code == 404
    publish = api.post(f"{V3}/{channel.pk}/messages", message_body(theirs), **portal.bearer())
    assert publish.status_code == 404
    assert api.get(f"{V3}/{channel.pk}/channel-accounts/{account.pk}", **portal.bearer()).status_code == 200


def test_inbox_channel_account_endpoints(api, portal, account):
    base = "/conversations/v3/conversations/channel-accounts"
    listed = api.get(f"{base}?inboxId={portal.seed['inbox_ids'][0]}", **portal.bearer()).json()
    assert listed["total"] == 1
    assert listed["results"][0]["id"] == str(account.pk)
    assert api.get(f"{base}?inboxId={portal.seed['inbox_ids'][1]}", **portal.bearer()).json()["total"] == 0
    assert api.get(f"{base}/{account.pk}", **portal.bearer()).json()["name"] == "Bot account"


# Publishing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channelAccountId": None}, "channelAccountId"),
        ({"text": None}, "text"),
        ({"timestamp": None}, "timestamp"),
        ({"attachments": None}, "attachments"),
        ({"senders": None}, "senders"),
        ({"recipients": None}, "recipients"),
        ({"messageDirection": None}, "messageDirection"),
    ],
)
def test_publish_names_the_missing_field(api, portal, channel, account, change, field):
    body = {k: v for k, v in message_body(account, **change).items() if v is not None}
    response = api.post(f"{V3}/{channel.pk}/messages", body, **portal.bearer())
    assert response.status_code == 400
    assert response.json()["context"]["missingFields"] == [field]
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"messageDirection": "SIDEWAYS"}, "messageDirection"),
        ({"timestamp": "01/03/2026 12:00"}, "timestamp"),
        ({"senders": [{"name": "no identifier"}]}, "senders[0].deliveryIdentifier"),
        (
            {"senders": [{"deliveryIdentifier": {"type": "HS_SHORT_CODE", "value": "1234"}}]},
            "senders[0].deliveryIdentifier.type",
        ),
        ({"attachments": [{"type": "FILE", "fileId": "424242"}]}, "attachments[0].fileId"),
        ({"attachments": [{"type": "GIF"}]}, "attachments[0].type"),
        ({"integrationThreadId": None}, "integrationThreadId"),
        ({"channelAccountId": "abc"}, "channelAccountId"),
    ],
)
def test_publish_rejects_invalid_values_naming_the_field(api, portal, channel, account, change, field):
    body = {k: v for k, v in message_body(account, **change).items() if v is not None}
    response = api.post(f"{V3}/{channel.pk}/messages", body, **portal.bearer())
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["in"] == field


def test_publish_to_unknown_channel_or_account_is_404(api, portal, channel, account):
    assert api.post(f"{V3}/999999/messages", message_body(account), **portal.bearer()).status_code == 404
    body = message_body(account, channelAccountId="999999")
    assert api.post(f"{V3}/{channel.pk}/messages", body, **portal.bearer()).status_code == 404


def test_unauthorized_account_cannot_publish(api, portal, channel, account):
    SandboxChannelAccount.objects.filter(pk=account.pk).update(authorized=False)
    response = api.post(f"{V3}/{channel.pk}/messages", message_body(account), **portal.bearer())
    assert response.status_code == 400
    assert "not authorized" in response.json()["message"]


def test_idempotent_publish_returns_the_original(api, portal, channel, account, emitted):
    body = message_body(account, integrationIdempotencyId="once")
    first = api.post(f"{V3}/{channel.pk}/messages", body, **portal.bearer())
    again = api.post(f"{V3}/{channel.pk}/messages", body | {"text": "changed"}, **portal.bearer())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert SandboxMessage.objects.count() == 1
    assert emitted.conversation.call_count == 2  # creation + newMessage, once


def test_threading_by_integration_thread_id(api, portal, channel, account, emitted):
    path = f"{NEW}/{channel.pk}/messages"
    a1 = api.post(path, message_body(account, integrationThreadId="A"), **portal.bearer()).json()
    b1 = api.post(path, message_body(account, integrationThreadId="B"), **portal.bearer()).json()
    a2 = api.post(
        path,
        message_body(account, integrationThreadId="A", timestamp="2026-03-01T12:05:00+00:00"),
        **portal.bearer(),
    ).json()
    assert a1["conversationsThreadId"] == a2["conversationsThreadId"] != b1["conversationsThreadId"]
    thread = SandboxThread.objects.get(pk=a1["conversationsThreadId"])
    assert thread.integration_thread_id == "A"
    assert thread.latest_message_at.isoformat() == "2026-03-01T12:05:00+00:00"
    kinds = [c.args[1] for c in emitted.conversation.call_args_list]
    assert kinds == [
        "conversation.creation",
        "conversation.newMessage",
        "conversation.creation",
        "conversation.newMessage",
        "conversation.newMessage",
    ]
    new_message = emitted.conversation.call_args_list[-1]
    assert new_message.args[0].pk == thread.pk
    assert new_message.kwargs["message"].message_id == a2["id"]


def test_delivery_identifier_threading_groups_by_visitor(api, portal, channel, account):
    channel.capabilities = {"threadingModel": "DELIVERY_IDENTIFIER"}
    channel.save()
    path = f"{V3}/{channel.pk}/messages"
    first = api.post(path, message_body(account, integrationThreadId=None), **portal.bearer()).json()
    same = api.post(path, message_body(account), **portal.bearer()).json()
    phone = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100002"}}
    other = api.post(path, message_body(account, senders=[phone]), **portal.bearer()).json()
    assert first["conversationsThreadId"] == same["conversationsThreadId"] != other["conversationsThreadId"]
    grace = SandboxContact.objects.get(email="grace@example.com")
    assert SandboxThread.objects.get(pk=other["conversationsThreadId"]).contact == grace


def test_unknown_sender_gets_a_visitor_not_a_contact(api, portal, channel, account):
    stranger = {
        "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "new@stranger.example"},
        "name": "Sam",
    }
    message = api.post(
        f"{V3}/{channel.pk}/messages", message_body(account, senders=[stranger]), **portal.bearer()
    ).json()
    thread = SandboxThread.objects.get(pk=message["conversationsThreadId"])
    visitor_number = domain.VISITOR_ID_OFFSET + thread.pk
    assert thread.contact is None
    assert message["createdBy"] == f"V-{visitor_number}"
    assert not SandboxContact.objects.filter(email="new@stranger.example").exists()
    actor = SandboxActor.objects.get(actor_id=f"V-{visitor_number}")
    assert (actor.type, actor.name, actor.email) == ("VISITOR", "Sam", "new@stranger.example")
    got = api.get(f"/conversations/v3/conversations/threads/{thread.pk}", **portal.bearer()).json()
    assert got["associatedContactId"] == str(visitor_number)


def test_incoming_message_reopens_a_closed_thread(api, portal, channel, account, emitted):
    path = f"{V3}/{channel.pk}/messages"
    first = api.post(path, message_body(account), **portal.bearer()).json()
    thread = SandboxThread.objects.get(pk=first["conversationsThreadId"])
    domain.set_thread_status(thread, "CLOSED")
    api.post(path, message_body(account, text="still there?"), **portal.bearer())
    thread.refresh_from_db()
    assert thread.status == "OPEN"
    changes = [c for c in emitted.conversation.call_args_list if c.args[1] == "conversation.propertyChange"]
    assert [(c.kwargs["property_name"], c.kwargs["property_value"]) for c in changes] == [
        ("status", "CLOSED"),
        ("status", "OPEN"),
    ]


def test_agent_reply_emits_outgoing_channel_message_created(portal, channel, account, emitted):
    visitor = {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ada@example.com"}}
    incoming, _ = domain.publish_message(
        channel, account, direction="INCOMING", text="hi", senders=[visitor], integration_thread_id="t1"
    )
    reply, created = domain.publish_message(
        channel,
        account,
        direction="OUTGOING",
        text="Hello from a human",
        recipients=[visitor],
        integration_thread_id="t1",
        created_by="A-1001",
        client_type="HUBSPOT",
        in_reply_to_id=incoming.message_id,
    )
    assert created is True
    assert reply.thread_id == incoming.thread_id
    assert reply.senders == [
        {
            "actorId": "A-1001",
            "name": "Alice Agent",
            "deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"},
        }
    ]
    assert reply.status_type == ""
    emitted.channel.assert_called_once()
    channel_arg, event_type, payload = emitted.channel.call_args.args
    assert (channel_arg, event_type) == (channel, "OUTGOING_CHANNEL_MESSAGE_CREATED")
    assert payload["channelIntegrationThreadIds"] == ["t1"]
    assert payload["portalId"] == str(portal.seed["portal_id"])
    assert payload["message"]["id"] == reply.message_id
    assert payload["message"]["client"] == {"clientType": "HUBSPOT"}
    assert payload["message"]["inReplyToId"] == incoming.message_id
    assert payload["message"]["recipients"][0]["actorId"] == f"V-{portal.seed['contacts'][0]['id']}"


def test_message_status_update_validates_status_type(api, portal, channel, account):
    message = api.post(f"{V3}/{channel.pk}/messages", message_body(account), **portal.bearer()).json()
    path = f"{V3}/{channel.pk}/messages/{message['id']}"
    bad = api.patch(path, {"statusType": "RECEIVED"}, **portal.bearer())
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["in"] == "statusType"
    assert api.patch(path, {"statusType": "SENT"}, **portal.bearer()).json()["status"] == {
        "statusType": "SENT"
    }
    assert api.get(f"{V3}/{channel.pk}/messages/nope", **portal.bearer()).status_code == 404


def test_malformed_json_is_400(api, portal, channel):
    response = api.post(f"{V3}/{channel.pk}/messages", None, **portal.bearer())
    assert response.status_code == 400
    from django.test import Client

    raw = Client().post(
        f"/sandbox/api{V3}/{channel.pk}/messages", "{nope", content_type="application/json", **portal.bearer()
    )
    assert raw.status_code == 400
    assert raw.json()["message"].startswith("Invalid input JSON")
