"""The answer fixtures have the shape HubSpot sends (sources: tests/fixtures/SOURCES.json): each
parses under hubspot-sdk's strict response validation (or hubspot-api-client's client-side
validation for the v1 OAuth ones), and the v3-only inbox ones carry every field the contract marks
required (§6.2)."""

import json

import pytest
from hubspot.oauth.configuration import Configuration
from hubspot.oauth.models import AccessTokenInfoResponse, TokenResponseIF
from hubspot_sdk._models import validate_type
from hubspot_sdk.types.auth.public_access_token_info_response import PublicAccessTokenInfoResponse
from hubspot_sdk.types.auth.token_response_if import TokenResponseIf
from hubspot_sdk.types.conversations import (
    collection_response_with_total_public_channel_integration_channel as channel_collection,
)
from hubspot_sdk.types.conversations.collection_response_with_total_public_channel_account import (
    CollectionResponseWithTotalPublicChannelAccount,
)
from hubspot_sdk.types.conversations.public_channel_account import PublicChannelAccount
from hubspot_sdk.types.conversations.public_channel_integration_channel import PublicChannelIntegrationChannel
from hubspot_sdk.types.conversations.public_conversations_message import PublicConversationsMessage
from hubspot_sdk.types.crm.collection_response_with_total_simple_public_object import (
    CollectionResponseWithTotalSimplePublicObject,
)
from hubspot_sdk.types.crm.simple_public_object_with_associations import SimplePublicObjectWithAssociations
from hubspot_sdk.types.files.file import File
from hubspot_sdk.types.files.signed_url import SignedURL
from hubspot_sdk.types.webhooks.settings_response import SettingsResponse
from hubspot_sdk.types.webhooks.subscription_list_response import SubscriptionListResponse
from hubspot_sdk.types.webhooks.subscription_response import SubscriptionResponse

from tests.hubspot_client.conftest import FIXTURES, load_fixture

SDK_MODELS = {
    "oauth_token__refresh_rotated": TokenResponseIf,
    "oauth_token__authorization_code": TokenResponseIf,
    "oauth_token_info__introspect": PublicAccessTokenInfoResponse,
    "channels_create__ok": PublicChannelIntegrationChannel,
    "channels_get__ok": PublicChannelIntegrationChannel,
    "channels_update__ok": PublicChannelIntegrationChannel,
    "channels_list__page1": channel_collection.CollectionResponseWithTotalPublicChannelIntegrationChannel,
    "channels_list__page2": channel_collection.CollectionResponseWithTotalPublicChannelIntegrationChannel,
    "channel_accounts_create__ok": PublicChannelAccount,
    "channel_accounts_get__ok": PublicChannelAccount,
    "channel_accounts_update__disabled": PublicChannelAccount,
    "channel_accounts_list__ok": CollectionResponseWithTotalPublicChannelAccount,
    "messages_publish__incoming": PublicConversationsMessage,
    "messages_publish__with_file": PublicConversationsMessage,
    "messages_get__ok": PublicConversationsMessage,
    "messages_update_status__sent": PublicConversationsMessage,
    "contacts_search__by_email": CollectionResponseWithTotalSimplePublicObject,
    "contacts_search__by_phone": CollectionResponseWithTotalSimplePublicObject,
    "contacts_search__none": CollectionResponseWithTotalSimplePublicObject,
    "contacts_get__ok": SimplePublicObjectWithAssociations,
    "files_upload__ok": File,
    "files_signed_url__ok": SignedURL,
    "webhooks_settings_get__ok": SettingsResponse,
    "webhooks_settings_update__ok": SettingsResponse,
    "webhooks_subscriptions_list__ok": SubscriptionListResponse,
    "webhooks_subscriptions_create__ok": SubscriptionResponse,
    "webhooks_subscriptions_update__inactive": SubscriptionResponse,
}

LEGACY_MODELS = {"oauth_token__refresh": TokenResponseIF, "oauth_token_info__v1": AccessTokenInfoResponse}

# contract §6.2 (no SDK covers the inbox)
THREAD = {"id", "inboxId", "status", "spam", "archived", "createdAt", "associatedContactId"}
THREAD |= {"originalChannelId", "originalChannelAccountId"}
INBOX = {"id", "name", "type", "archived", "createdAt", "updatedAt"}
MESSAGE_BASE = {"id", "type", "archived", "client", "conversationsThreadId", "createdAt", "createdBy"}
MESSAGE_BASE |= {"senders", "recipients"}


@pytest.mark.parametrize("name", sorted(SDK_MODELS))
def test_fixture_passes_strict_sdk_validation(name):
    validate_type(type_=SDK_MODELS[name], value=load_fixture(name))


@pytest.mark.parametrize("name", sorted(LEGACY_MODELS))
def test_v1_fixture_passes_legacy_client_validation(name):
    model = LEGACY_MODELS[name]
    data = {k: v for k, v in load_fixture(name).items() if k in model.attribute_map}
    config = Configuration()
    config.client_side_validation = True
    model(**data, local_vars_configuration=config)


def test_inbox_fixtures_have_the_required_fields():
    for thread in [load_fixture("threads_get__open"), load_fixture("threads_update__closed")]:
        assert set(thread) >= THREAD
    for page in ["threads_list__ok", "threads_list__last"]:
        for thread in load_fixture(page)["results"]:
            assert set(thread) >= THREAD and thread["status"] in {"OPEN", "CLOSED"}
    for inbox in load_fixture("inboxes_list__ok")["results"]:
        assert set(inbox) >= INBOX
    for message in load_fixture("threads_messages_list__ok")["results"]:
        assert set(message) >= MESSAGE_BASE
    assert {"id", "type"} <= set(load_fixture("actors_get__agent"))
    batch = load_fixture("actors_batch_read__ok")
    assert {"status", "results", "startedAt", "completedAt"} <= set(batch)


def test_error_fixtures_use_hubspots_envelope():
    for path in FIXTURES.glob("error__*.json"):
        body = json.loads(path.read_text())
        assert body["status"] == "error" and body["message"] and body["correlationId"], path.name
        assert body.get("category") or body.get("errorType"), path.name


def test_every_fixture_is_named_operation__variant():
    for path in FIXTURES.glob("*.json"):
        operation, _, variant = path.stem.partition("__")
        assert operation and variant, path.name
