"""Every call the product makes: method, path, query and a body that hubspot-sdk's own request
types accept (and that the SDK itself would send), on HubSpot-shaped answer fixtures."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hubspot_sdk import omit
from hubspot_sdk.types.conversations.custom_channel_create_params import CustomChannelCreateParams
from hubspot_sdk.types.conversations.custom_channel_update_params import CustomChannelUpdateParams
from hubspot_sdk.types.conversations.custom_channels.channel_account_create_params import (
    ChannelAccountCreateParams,
)
from hubspot_sdk.types.conversations.custom_channels.channel_account_update_params import (
    ChannelAccountUpdateParams,
)
from hubspot_sdk.types.conversations.custom_channels.message_create_params import MessageCreateParams
from hubspot_sdk.types.conversations.custom_channels.message_update_params import MessageUpdateParams
from hubspot_sdk.types.crm.objects.contact_search_params import ContactSearchParams
from hubspot_sdk.types.webhooks.webhook_create_event_subscription_params import (
    WebhookCreateEventSubscriptionParams,
)
from hubspot_sdk.types.webhooks.webhook_update_event_subscription_params import (
    WebhookUpdateEventSubscriptionParams,
)
from hubspot_sdk.types.webhooks.webhook_update_settings_params import WebhookUpdateSettingsParams

from connections.hubspot import Page, delivery_identifier, file_attachment, participant
from connections.hubspot.conversations import format_timestamp
from tests.hubspot_client.conftest import API, body_of, load_fixture
from tests.hubspot_client.factories import APP_ID, DEV_KEY
from tests.hubspot_client.sdk_contract import BodyMismatch, assert_sdk_body, sdk_request

CC = f"{API}/conversations/custom-channels/2026-03"
INBOX = f"{API}/conversations/v3/conversations"
CAPABILITIES = load_fixture("channels_create__ok")["capabilities"]


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def _path(call) -> str:
    return urlsplit(call.request.url).path


def _same_as_sdk(call, sdk, *, ignore_query=("hapikey", "appId")):
    """Our request and the SDK's agree on method, path, query (bar auth) and JSON body."""
    assert call.request.method == sdk.method
    assert _path(call) == sdk.path
    ours = {k: v for k, v in _query(call).items() if k not in ignore_query}
    theirs = {k: v for k, v in sdk.query.items() if k not in ignore_query}
    assert ours == theirs
    if sdk.content:
        assert body_of(call) == sdk.json


# --- the checker itself --------------------------------------------------------------------------


def test_the_sdk_checker_catches_drift():
    good = {"name": "A", "inboxId": "3001", "authorized": True}
    assert_sdk_body(good, ChannelAccountCreateParams)
    with pytest.raises(BodyMismatch, match="no field 'inbox_id'"):
        assert_sdk_body({"name": "A", "inbox_id": "3001", "authorized": True}, ChannelAccountCreateParams)
    with pytest.raises(BodyMismatch, match="string_type"):
        assert_sdk_body({"name": "A", "inboxId": 3001, "authorized": True}, ChannelAccountCreateParams)
    with pytest.raises(BodyMismatch, match="missing"):
        assert_sdk_body({"name": "A", "authorized": True}, ChannelAccountCreateParams)
    with pytest.raises(BodyMismatch, match="literal_error"):
        assert_sdk_body(
            {**good, "deliveryIdentifier": {"type": "EMAIL", "value": "a@b.c"}}, ChannelAccountCreateParams
        )


# --- custom channels (developer key) -----------------------------------------------------------


def test_create_channel(dev_client, mocked):
    mocked.post(CC, status=201, json=load_fixture("channels_create__ok"))

    channel = dev_client.create_channel(
        "Acme chatbot",
        CAPABILITIES,
        webhook_url="https://hitl.example.com/hubspot/channel/x/",
        channel_account_connection_redirect_url="https://hitl.example.com/connect/",
        channel_description="Handed over by the bot",
    )

    call = mocked.calls[0]
    assert _query(call) == {"hapikey": [DEV_KEY], "appId": [str(APP_ID)]}
    assert_sdk_body(body_of(call), CustomChannelCreateParams)
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.create(
            name="Acme chatbot",
            capabilities=CAPABILITIES,
            webhook_url="https://hitl.example.com/hubspot/channel/x/",
            channel_account_connection_redirect_url="https://hitl.example.com/connect/",
            channel_description="Handed over by the bot",
        ),
        response=load_fixture("channels_create__ok"),
        dev_key=DEV_KEY,
    )
    _same_as_sdk(call, sdk)
    assert channel["id"] == "1001"


def test_list_channels_pages_through_every_channel(dev_client, mocked):
    mocked.get(CC, json=load_fixture("channels_list__page1"))
    mocked.get(CC, json=load_fixture("channels_list__page2"))

    channels = list(dev_client.iter_channels(limit=2))

    assert [c["id"] for c in channels] == ["1001", "1002", "1003"]
    assert _query(mocked.calls[0]) == {"hapikey": [DEV_KEY], "appId": [str(APP_ID)], "limit": ["2"]}
    assert _query(mocked.calls[1])["after"] == ["MTAwMg=="]
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.list(limit=2, after="MTAwMg=="),
        response=load_fixture("channels_list__page2"),
        dev_key=DEV_KEY,
    )
    _same_as_sdk(mocked.calls[1], sdk)


def test_list_channels_returns_a_page(dev_client, mocked):
    mocked.get(CC, json=load_fixture("channels_list__page1"))
    page = dev_client.list_channels()
    assert isinstance(page, Page)
    assert (page.total, page.after, len(page)) == (3, "MTAwMg==", 2)


def test_get_channel(dev_client, mocked):
    mocked.get(f"{CC}/1001", json=load_fixture("channels_get__ok"))
    assert dev_client.get_channel(1001)["name"] == "Acme chatbot"
    assert _query(mocked.calls[0]) == {"hapikey": [DEV_KEY], "appId": [str(APP_ID)]}


def test_update_channel_sends_only_named_fields(dev_client, mocked):
    mocked.patch(f"{CC}/1001", json=load_fixture("channels_update__ok"))

    dev_client.update_channel(
        1001, name="Acme assistant", webhook_url="https://hitl.example.com/hubspot/channel/new/"
    )

    call = mocked.calls[0]
    assert body_of(call) == {
        "name": "Acme assistant",
        "webhookUrl": "https://hitl.example.com/hubspot/channel/new/",
    }
    assert_sdk_body(body_of(call), CustomChannelUpdateParams, partial=True)
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.update(
            1001,
            name="Acme assistant",
            webhook_url="https://hitl.example.com/hubspot/channel/new/",
            capabilities=omit,
            channel_account_connection_redirect_url=omit,
            channel_description=omit,
            channel_logo_url=omit,
        ),
        response=load_fixture("channels_update__ok"),
        dev_key=DEV_KEY,
    )
    _same_as_sdk(call, sdk)
    with pytest.raises(TypeError, match="unknown fields"):
        dev_client.update_channel(1001, webhookUrl="camelCase is not a keyword")


def test_delete_channel(dev_client, mocked):
    mocked.delete(f"{CC}/1001", status=204)
    assert dev_client.delete_channel(1001) is None
    sdk = sdk_request(lambda c: c.conversations.custom_channels.delete(1001), dev_key=DEV_KEY)
    _same_as_sdk(mocked.calls[0], sdk)


# --- channel accounts (Bearer) -----------------------------------------------------------------


def test_create_channel_account(client, mocked):
    mocked.post(f"{CC}/1001/channel-accounts", status=201, json=load_fixture("channel_accounts_create__ok"))

    account = client.create_channel_account(
        1001,
        name="Acme chatbot (web)",
        inbox_id=3001,
        delivery_identifier=delivery_identifier("CHANNEL_SPECIFIC_OPAQUE_ID", "acme-web"),
    )

    call = mocked.calls[0]
    assert call.request.headers["Authorization"].startswith("Bearer ")
    assert "hapikey" not in call.request.url
    assert_sdk_body(body_of(call), ChannelAccountCreateParams)
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.channel_accounts.create(
            1001,
            name="Acme chatbot (web)",
            inbox_id="3001",
            authorized=True,
            delivery_identifier={"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "acme-web"},
        ),
        response=load_fixture("channel_accounts_create__ok"),
    )
    _same_as_sdk(call, sdk)
    assert account["id"] == "2001"


def test_list_channel_accounts_with_filters(client, mocked):
    mocked.get(f"{CC}/1001/channel-accounts", json=load_fixture("channel_accounts_list__ok"))

    accounts = list(
        client.iter_channel_accounts(
            1001,
            archived=False,
            delivery_identifier_types=["HS_EMAIL_ADDRESS", "CHANNEL_SPECIFIC_OPAQUE_ID"],
            delivery_identifier_values=["acme-web"],
        )
    )

    assert [a["id"] for a in accounts] == ["2001"]
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.channel_accounts.list(
            1001,
            limit=100,
            archived=False,
            delivery_identifier_type=["HS_EMAIL_ADDRESS", "CHANNEL_SPECIFIC_OPAQUE_ID"],
            delivery_identifier_value=["acme-web"],
        ),
        response=load_fixture("channel_accounts_list__ok"),
    )
    _same_as_sdk(mocked.calls[0], sdk)


def test_get_channel_account(client, mocked):
    mocked.get(f"{CC}/1001/channel-accounts/2001", json=load_fixture("channel_accounts_get__ok"))
    assert client.get_channel_account(1001, 2001)["inboxId"] == "3001"
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.get(2001, channel_id=1001),
        response=load_fixture("channel_accounts_get__ok"),
    )
    _same_as_sdk(mocked.calls[0], sdk)


def test_update_channel_account(client, mocked):
    mocked.patch(f"{CC}/1001/channel-accounts/2001", json=load_fixture("channel_accounts_update__disabled"))

    account = client.update_channel_account(1001, 2001, authorized=False)

    call = mocked.calls[0]
    assert body_of(call) == {"authorized": False}
    assert_sdk_body(body_of(call), ChannelAccountUpdateParams, path_params={"channel_id": 1001})
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.channel_accounts.update(
            2001, channel_id=1001, authorized=False
        ),
        response=load_fixture("channel_accounts_update__disabled"),
    )
    _same_as_sdk(call, sdk)
    assert account["authorized"] is False


# --- messages ------------------------------------------------------------------------------------


def test_publish_an_incoming_message(client, mocked):
    mocked.post(f"{CC}/1001/messages", status=201, json=load_fixture("messages_publish__incoming"))
    import datetime as dt

    sent_at = dt.datetime(2026, 3, 1, 12, 10, 0, 123456, tzinfo=dt.UTC)

    message = client.publish_message(
        1001,
        channel_account_id=2001,
        text="Hi, I need a human please.",
        rich_text="<p>Hi, I need a human please.</p>",
        senders=[participant("HS_EMAIL_ADDRESS", "jane@example.org", name="Jane Visitor")],
        recipients=[participant("CHANNEL_SPECIFIC_OPAQUE_ID", "acme-web")],
        integration_thread_id="conv-77",
        integration_idempotency_id="0f8e2b4a-msg-1",
        timestamp=sent_at,
    )

    call = mocked.calls[0]
    body = body_of(call)
    assert body == {
        "channelAccountId": "2001",
        "messageDirection": "INCOMING",
        "text": "Hi, I need a human please.",
        "timestamp": "2026-03-01T12:10:00.123Z",
        "attachments": [],
        "senders": [
            {
                "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "jane@example.org"},
                "name": "Jane Visitor",
            }
        ],
        "recipients": [{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "acme-web"}}],
        "integrationIdempotencyId": "0f8e2b4a-msg-1",
        "integrationThreadId": "conv-77",
        "richText": "<p>Hi, I need a human please.</p>",
    }
    assert_sdk_body(body, MessageCreateParams)
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.messages.create(
            1001,
            channel_account_id="2001",
            message_direction="INCOMING",
            text="Hi, I need a human please.",
            timestamp="2026-03-01T12:10:00.123Z",
            attachments=[],
            senders=[
                {
                    "delivery_identifier": {"type": "HS_EMAIL_ADDRESS", "value": "jane@example.org"},
                    "name": "Jane Visitor",
                }
            ],
            recipients=[{"delivery_identifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "acme-web"}}],
            integration_idempotency_id="0f8e2b4a-msg-1",
            integration_thread_id="conv-77",
            rich_text="<p>Hi, I need a human please.</p>",
        ),
        response=load_fixture("messages_publish__incoming"),
        status=201,
    )
    _same_as_sdk(call, sdk)
    assert message["conversationsThreadId"] == "9001"


def test_publish_with_a_file_attachment_and_contact(client, mocked):
    mocked.post(f"{CC}/1001/messages", status=201, json=load_fixture("messages_publish__with_file"))

    client.publish_message(
        1001,
        channel_account_id="2001",
        text="Here is a screenshot",
        attachments=[file_attachment(88001, file_usage_type="IMAGE")],
        senders=[participant("HS_PHONE_NUMBER", "+4915112345678")],
        recipients=[participant("CHANNEL_SPECIFIC_OPAQUE_ID", "acme-web")],
        integration_idempotency_id="msg-2",
        in_reply_to_id="a3b0f1e2c4d5e6f708192a3b4c5d6e7f",
        associate_with_contact_id=51,
    )

    body = body_of(mocked.calls[0])
    assert body["attachments"] == [{"type": "FILE", "fileId": "88001", "fileUsageType": "IMAGE"}]
    assert body["associateWithContactId"] == 51
    assert_sdk_body(body, MessageCreateParams)


def test_publish_needs_an_idempotency_id(client):
    with pytest.raises(ValueError, match="integration_idempotency_id"):
        client.publish_message(
            1, channel_account_id=2, text="x", senders=[], recipients=[], integration_idempotency_id=""
        )


def test_helpers_refuse_unknown_enum_values():
    with pytest.raises(ValueError):
        participant("EMAIL", "a@b.c")
    with pytest.raises(ValueError):
        file_attachment(1, file_usage_type="PICTURE")


def test_timestamps_are_utc_with_milliseconds_and_z():
    import datetime as dt

    cet = dt.timezone(dt.timedelta(hours=1))
    assert format_timestamp(dt.datetime(2026, 3, 1, 13, 0, 0, 5000, tzinfo=cet)) == "2026-03-01T12:00:00.005Z"
    with pytest.raises(ValueError):
        format_timestamp(dt.datetime(2026, 3, 1, 13, 0))


def test_update_message_status(client, mocked):
    mocked.patch(f"{CC}/1001/messages/c5d2", json=load_fixture("messages_update_status__sent"))

    client.update_message_status(1001, "c5d2", "FAILED", error_message="Bot offline")

    call = mocked.calls[0]
    assert body_of(call) == {"statusType": "FAILED", "errorMessage": "Bot offline"}
    assert_sdk_body(body_of(call), MessageUpdateParams, path_params={"channel_id": 1001})
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.messages.update(
            "c5d2", channel_id=1001, status_type="FAILED", error_message="Bot offline"
        ),
        response=load_fixture("messages_update_status__sent"),
    )
    _same_as_sdk(call, sdk)
    with pytest.raises(ValueError):
        client.update_message_status(1001, "c5d2", "RECEIVED")


def test_get_message(client, mocked):
    mocked.get(f"{CC}/1001/messages/a3b0", json=load_fixture("messages_get__ok"))
    assert client.get_message(1001, "a3b0")["direction"] == "INCOMING"
    sdk = sdk_request(
        lambda c: c.conversations.custom_channels.messages.get("a3b0", channel_id=1001),
        response=load_fixture("messages_get__ok"),
    )
    _same_as_sdk(mocked.calls[0], sdk)


# --- conversations inbox (v3 only, no SDK) -------------------------------------------------------


def test_thread_get_close_and_list(client, mocked):
    mocked.get(f"{INBOX}/threads/9001", json=load_fixture("threads_get__open"))
    mocked.patch(f"{INBOX}/threads/9001", json=load_fixture("threads_update__closed"))
    mocked.get(f"{INBOX}/threads", json=load_fixture("threads_list__ok"))
    mocked.get(f"{INBOX}/threads", json=load_fixture("threads_list__last"))

    assert client.get_thread(9001, association=["TICKET"])["assignedTo"] == "A-7711"
    closed = client.close_thread(9001)
    threads = list(client.iter_threads(inbox_ids=[3001, 3002], thread_status="OPEN", limit=50))

    assert _query(mocked.calls[0]) == {"association": ["TICKET"]}
    assert mocked.calls[1].request.method == "PATCH"
    assert body_of(mocked.calls[1]) == {"status": "CLOSED"}
    assert closed["status"] == "CLOSED"
    assert _query(mocked.calls[2]) == {"inboxId": ["3001,3002"], "threadStatus": ["OPEN"], "limit": ["50"]}
    assert _query(mocked.calls[3])["after"] == ["OTAwMQ=="]
    assert [t["id"] for t in threads] == ["9001", "9000"]


def test_restoring_an_archived_thread_finds_it_with_archived_true(client, mocked):
    mocked.patch(f"{INBOX}/threads/9001", json=load_fixture("threads_get__open"))
    client.update_thread(9001, archived=False)
    assert _query(mocked.calls[0]) == {"archived": ["true"]}
    assert body_of(mocked.calls[0]) == {"archived": False}


def test_thread_messages_actors_and_inboxes(client, mocked):
    mocked.get(f"{INBOX}/threads/9001/messages", json=load_fixture("threads_messages_list__ok"))
    mocked.get(f"{INBOX}/actors/A-7711", json=load_fixture("actors_get__agent"))
    mocked.post(f"{INBOX}/actors/batch/read", json=load_fixture("actors_batch_read__ok"))
    mocked.get(f"{INBOX}/inboxes", json=load_fixture("inboxes_list__ok"))

    messages = list(client.iter_thread_messages(9001))
    agent = client.get_actor("A-7711")
    batch = client.batch_read_actors(["A-7711", "V-55501", "A-7711"])
    inboxes = list(client.iter_inboxes())

    assert [m["type"] for m in messages] == ["MESSAGE", "ASSIGNMENT", "MESSAGE"]
    assert agent["email"] == "lena@acme.example"
    assert body_of(mocked.calls[2]) == {"inputs": ["A-7711", "V-55501"]}
    assert [a["id"] for a in batch["results"]] == ["A-7711", "V-55501"]
    assert [i["name"] for i in inboxes] == ["Support", "Help desk"]


# --- CRM -----------------------------------------------------------------------------------------


def test_contact_search_by_email(client, mocked):
    mocked.post(f"{API}/crm/objects/2026-03/contacts/search", json=load_fixture("contacts_search__by_email"))

    found = client.find_contacts_by_email(" jane@example.org ")

    call = mocked.calls[0]
    body = body_of(call)
    assert body["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "jane@example.org"}]}
    ]
    assert_sdk_body(body, ContactSearchParams)
    sdk = sdk_request(
        lambda c: c.crm.objects.contacts.search(
            after="0",
            filter_groups=[
                {"filters": [{"property_name": "email", "operator": "EQ", "value": "jane@example.org"}]}
            ],
            limit=10,
            properties=["email", "firstname", "lastname", "phone", "mobilephone"],
            sorts=[],
        ),
        response=load_fixture("contacts_search__by_email"),
    )
    _same_as_sdk(call, sdk)
    assert [c["id"] for c in found] == ["51"]


def test_contact_search_by_phone_checks_phone_and_mobilephone(client, mocked):
    mocked.post(f"{API}/crm/objects/2026-03/contacts/search", json=load_fixture("contacts_search__by_phone"))

    found = client.find_contacts_by_phone("+4915112345678")

    body = body_of(mocked.calls[0])
    assert body["filterGroups"] == [
        {"filters": [{"propertyName": "phone", "operator": "EQ", "value": "+4915112345678"}]},
        {"filters": [{"propertyName": "mobilephone", "operator": "EQ", "value": "+4915112345678"}]},
    ]
    assert_sdk_body(body, ContactSearchParams)
    assert found[0]["properties"]["mobilephone"] == "+4915112345678"


def test_contact_search_v3_path(client, mocked, settings):
    settings.HUBSPOT_API_VERSION = "v3"
    mocked.post(f"{API}/crm/v3/objects/contacts/search", json=load_fixture("contacts_search__none"))
    assert client.find_contacts_by_email("nobody@example.org") == []
    assert client.find_contacts_by_email("  ") == []
    assert len(mocked.calls) == 1


def test_get_contact(client, mocked):
    mocked.get(f"{API}/crm/objects/2026-03/contacts/51", json=load_fixture("contacts_get__ok"))

    contact = client.get_contact(51, properties=["email", "phone"])

    sdk = sdk_request(
        lambda c: c.crm.objects.contacts.get("51", properties=["email", "phone"]),
        response=load_fixture("contacts_get__ok"),
    )
    _same_as_sdk(mocked.calls[0], sdk)
    assert contact["properties"]["email"] == "jane@example.org"


# --- files ---------------------------------------------------------------------------------------


def _multipart(request) -> dict[str, tuple[dict, bytes]]:
    """Parts of a multipart body: name -> (headers, content)."""
    content_type = request.headers["Content-Type"]
    boundary = content_type.split("boundary=")[1].encode()
    parts = {}
    for chunk in request.body.split(b"--" + boundary):
        chunk = chunk.strip(b"\r\n")
        if not chunk or chunk == b"--":
            continue
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        name = headers["Content-Disposition"].split('name="')[1].split('"')[0]
        parts[name] = (headers, content)
    return parts


def test_upload_file_is_multipart_like_the_sdks(client, mocked):
    mocked.post(f"{API}/files/2026-03/files", status=201, json=load_fixture("files_upload__ok"))

    uploaded = client.upload_file(
        b"\x89PNG fake",
        "screenshot.png",
        content_type="image/png",
        duplicate_validation_strategy="RETURN_EXISTING",
    )

    ours = _multipart(mocked.calls[0].request)
    assert ours["file"][1] == b"\x89PNG fake"
    assert 'filename="screenshot.png"' in ours["file"][0]["Content-Disposition"]
    assert ours["file"][0]["Content-Type"] == "image/png"
    assert ours["folderPath"][1] == b"/conversations/hitl-portal"
    assert json.loads(ours["options"][1]) == {
        "access": "PRIVATE",
        "duplicateValidationStrategy": "RETURN_EXISTING",
    }

    sdk = sdk_request(
        lambda c: c.files.file_assets.upload(
            file=("screenshot.png", b"\x89PNG fake", "image/png"),
            file_name="screenshot.png",
            folder_path="/conversations/hitl-portal",
            options=ours["options"][1].decode(),
        ),
        response=load_fixture("files_upload__ok"),
    )
    assert sdk.path == urlsplit(mocked.calls[0].request.url).path
    boundary = sdk.headers["content-type"].split("boundary=")[1]

    class _Req:
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        body = sdk.content

    theirs = _multipart(_Req)
    assert {k: v[1] for k, v in theirs.items()} == {k: v[1] for k, v in ours.items()}
    assert uploaded["id"] == "88001"


def test_signed_url(client, mocked):
    mocked.get(f"{API}/files/2026-03/files/88001/signed-url", json=load_fixture("files_signed_url__ok"))

    signed = client.get_signed_url(88001, expiration_seconds=600)

    sdk = sdk_request(
        lambda c: c.files.file_assets.get_signed_url("88001", expiration_seconds=600),
        response=load_fixture("files_signed_url__ok"),
    )
    _same_as_sdk(mocked.calls[0], sdk)
    assert signed["url"].startswith("https://")


# --- webhooks API (developer key) --------------------------------------------------------------


WEBHOOKS = f"{API}/webhooks/2026-03/{APP_ID}"


def test_webhook_settings(dev_client, mocked):
    mocked.get(f"{WEBHOOKS}/settings", json=load_fixture("webhooks_settings_get__ok"))
    mocked.put(f"{WEBHOOKS}/settings", json=load_fixture("webhooks_settings_update__ok"))

    current = dev_client.get_webhook_settings()
    updated = dev_client.update_webhook_settings(
        "https://hitl.example.com/hubspot/webhooks/x/", max_concurrent_requests=5
    )

    assert current["throttling"]["maxConcurrentRequests"] == 10
    assert updated["throttling"]["maxConcurrentRequests"] == 5
    assert _query(mocked.calls[0]) == {"hapikey": [DEV_KEY]}
    put = mocked.calls[1]
    assert_sdk_body(body_of(put), WebhookUpdateSettingsParams)
    sdk = sdk_request(
        lambda c: c.webhooks.update_settings(
            APP_ID,
            target_url="https://hitl.example.com/hubspot/webhooks/x/",
            throttling={"max_concurrent_requests": 5},
        ),
        response=load_fixture("webhooks_settings_update__ok"),
        dev_key=DEV_KEY,
    )
    _same_as_sdk(put, sdk)


def test_webhook_subscriptions(dev_client, mocked):
    mocked.get(f"{WEBHOOKS}/subscriptions", json=load_fixture("webhooks_subscriptions_list__ok"))
    mocked.post(
        f"{WEBHOOKS}/subscriptions", status=201, json=load_fixture("webhooks_subscriptions_create__ok")
    )
    mocked.patch(f"{WEBHOOKS}/subscriptions/12", json=load_fixture("webhooks_subscriptions_update__inactive"))
    mocked.delete(f"{WEBHOOKS}/subscriptions/12", status=204)

    listed = dev_client.list_subscriptions()
    created = dev_client.create_subscription("conversation.propertyChange", property_name="assignedTo")
    updated = dev_client.update_subscription(12, active=False)
    dev_client.delete_subscription(12)

    assert [s["eventType"] for s in listed] == ["conversation.propertyChange", "conversation.newMessage"]
    assert created["id"] == "12" and updated["active"] is False
    create, patch = mocked.calls[1], mocked.calls[2]
    assert_sdk_body(body_of(create), WebhookCreateEventSubscriptionParams)
    assert_sdk_body(body_of(patch), WebhookUpdateEventSubscriptionParams, path_params={"app_id": APP_ID})
    _same_as_sdk(
        create,
        sdk_request(
            lambda c: c.webhooks.create_event_subscription(
                APP_ID, event_type="conversation.propertyChange", active=True, property_name="assignedTo"
            ),
            response=load_fixture("webhooks_subscriptions_create__ok"),
            dev_key=DEV_KEY,
        ),
    )
    _same_as_sdk(
        patch,
        sdk_request(
            lambda c: c.webhooks.update_event_subscription(12, app_id=APP_ID, active=False),
            response=load_fixture("webhooks_subscriptions_update__inactive"),
            dev_key=DEV_KEY,
        ),
    )
    _same_as_sdk(
        mocked.calls[3],
        sdk_request(lambda c: c.webhooks.delete_event_subscription(12, app_id=APP_ID), dev_key=DEV_KEY),
    )
    for call in mocked.calls:
        assert "Authorization" not in call.request.headers
        assert _query(call)["hapikey"] == [DEV_KEY]
