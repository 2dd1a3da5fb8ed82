"""Contract: CRM contacts, files and the webhooks API through both official SDKs."""

from __future__ import annotations

import httpx
import hubspot_sdk
import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.webhooks import (
    BatchInputSubscriptionBatchUpdateRequest,
    SettingsChangeRequest,
    SubscriptionBatchUpdateRequest,
    SubscriptionCreateRequest,
    SubscriptionPatchRequest,
    ThrottlingSettings,
)

from sandbox.models import SandboxContact


def test_sdk_contact_search_and_get(sdk, live_portal):
    ada = live_portal.seed["contacts"][0]
    SandboxContact.objects.filter(pk=ada["id"]).update(lastname="")  # empty properties are omitted
    found = sdk.crm.objects.contacts.search(
        after="0",
        filter_groups=[
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": ada["email"].upper()}]}
        ],
        limit=10,
        properties=["email", "phone", "firstname", "lastname"],
        sorts=[],
    )
    assert found.total == 1
    result = found.results[0]
    assert result.id == str(ada["id"])
    assert result.properties["email"] == ada["email"]
    assert result.properties["phone"] == ada["phone"]
    assert "lastname" not in result.properties
    assert result.properties["hs_object_id"] == str(ada["id"])

    by_phone = sdk.crm.objects.contacts.search(
        after="0",
        filter_groups=[
            # `phone` matches only as typed; the calculated copy finds "+1 555 010 0002" in any format.
            {
                "filters": [
                    {
                        "propertyName": "hs_searchable_calculated_phone_number",
                        "operator": "EQ",
                        "value": "5550100002",
                    }
                ]
            },
            {"filters": [{"propertyName": "mobilephone", "operator": "IN", "values": ["+447700900003"]}]},
        ],
        limit=1,
        properties=["email"],
        sorts=[],
    )
    assert by_phone.total == 2
    assert [r.properties["email"] for r in by_phone.results] == ["grace@example.com"]
    assert by_phone.paging.next.after == "1"

    got = sdk.crm.objects.contacts.get(str(ada["id"]), properties=["email", "firstname"])
    assert got.properties == {
        "email": ada["email"],
        "firstname": "Ada",
        "hs_object_id": str(ada["id"]),
        "createdate": got.properties["createdate"],
        "lastmodifieddate": got.properties["lastmodifieddate"],
    }
    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk.crm.objects.contacts.get("999999")


def test_legacy_contact_search_deserialises(legacy, live_portal):
    grace = live_portal.seed["contacts"][1]
    request = PublicObjectSearchRequest(
        filter_groups=[
            {"filters": [{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}]}
        ],
        properties=["email", "phone"],
        limit=2,
    )
    page = legacy.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert page.total == 9  # edsger@example.org is not a match (5 of them are the mixed-format contacts)
    assert [r.properties["email"] for r in page.results] == ["ada@example.com", "grace@example.com"]
    assert page.paging.next.after == "2"
    contact = legacy.crm.contacts.basic_api.get_by_id(str(grace["id"]), properties=["phone"])
    assert contact.properties["phone"] == grace["phone"]


def test_sdk_file_upload_get_signed_url_and_download(sdk, live_server):
    uploaded = sdk.files.file_assets.upload(
        file=("notes.txt", b"hello sandbox", "text/plain"),
        file_name="notes.txt",
        folder_path="/bot",
        options='{"access": "PRIVATE"}',
    )
    assert uploaded.size == 13
    assert uploaded.extension == "txt"
    assert uploaded.access == "PRIVATE"
    assert uploaded.url.startswith(live_server.url + "/sandbox/api/_files/")

    fetched = sdk.files.file_assets.get(uploaded.id)
    assert fetched.url == uploaded.url
    signed = sdk.files.file_assets.get_signed_url(uploaded.id, expiration_seconds=60)
    assert signed.size == 13
    assert signed.extension == "txt"

    assert httpx.get(uploaded.url).content == b"hello sandbox"
    assert httpx.get(signed.url).content == b"hello sandbox"
    assert httpx.get(signed.url.replace("signature=", "signature=x")).status_code == 403
    wrong_token = f"{uploaded.url.rsplit('/', 2)[0]}/not-the-token/notes.txt"
    assert httpx.get(wrong_token).status_code == 404


def test_legacy_file_get_and_signed_url(legacy, sdk):
    uploaded = sdk.files.file_assets.upload(
        file=("a.pdf", b"%PDF-1.4", "application/pdf"),
        folder_id="123",
        options='{"access": "HIDDEN_PRIVATE"}',
    )
    file = legacy.files.files_api.get_by_id(uploaded.id)
    assert file.id == uploaded.id
    assert file.type == "DOCUMENT"
    signed = legacy.files.files_api.get_signed_url(uploaded.id)
    assert signed.extension == "pdf"


def test_sdk_webhook_settings_and_subscriptions(dev_sdk, live_portal):
    app_id = live_portal.seed["app_id"]
    with pytest.raises(hubspot_sdk.NotFoundError):
        dev_sdk.webhooks.get_settings(app_id)
    settings = dev_sdk.webhooks.update_settings(
        app_id, target_url="https://portal.example/hubspot/webhooks", throttling={"maxConcurrentRequests": 10}
    )
    assert settings.target_url == "https://portal.example/hubspot/webhooks"
    assert settings.throttling.max_concurrent_requests == 10
    assert dev_sdk.webhooks.get_settings(app_id).target_url == settings.target_url

    created = dev_sdk.webhooks.create_event_subscription(
        app_id, event_type="conversation.propertyChange", property_name="status", active=True
    )
    assert created.event_type == "conversation.propertyChange"
    assert created.property_name == "status"
    new_message = dev_sdk.webhooks.create_event_subscription(
        app_id, event_type="conversation.newMessage", active=False
    )
    assert new_message.active is False
    with pytest.raises(hubspot_sdk.ConflictError):
        dev_sdk.webhooks.create_event_subscription(app_id, event_type="conversation.newMessage", active=True)
    with pytest.raises(hubspot_sdk.BadRequestError) as exc:
        dev_sdk.webhooks.create_event_subscription(
            app_id,
            event_type="conversation.newThing",
            active=True,  # type: ignore[arg-type]
        )
    assert exc.value.body["category"] == "VALIDATION_ERROR"
    assert exc.value.body["errors"][0]["in"] == "eventType"

    listed = dev_sdk.webhooks.list_event_subscriptions(app_id)
    assert [s.id for s in listed.results] == [created.id, new_message.id]
    assert dev_sdk.webhooks.get_event_subscription(int(created.id), app_id=app_id).property_name == "status"
    patched = dev_sdk.webhooks.update_event_subscription(int(new_message.id), app_id=app_id, active=True)
    assert patched.active is True
    batch = dev_sdk.webhooks.create_batch_event_subscriptions(
        app_id,
        inputs=[{"id": int(created.id), "active": False}, {"id": int(new_message.id), "active": False}],
    )
    assert batch.status == "COMPLETE"
    assert [s.active for s in batch.results] == [False, False]
    assert dev_sdk.webhooks.delete_event_subscription(int(created.id), app_id=app_id) is None
    assert dev_sdk.webhooks.delete_settings(app_id) is None
    with pytest.raises(hubspot_sdk.NotFoundError):
        dev_sdk.webhooks.get_settings(app_id)


def test_legacy_webhooks_api_uses_hapikey_only(legacy, live_portal):
    app_id = live_portal.seed["app_id"]
    settings = legacy.webhooks.settings_api.configure(
        app_id,
        SettingsChangeRequest(
            target_url="https://portal.example/hooks",
            throttling=ThrottlingSettings(max_concurrent_requests=5),
        ),
    )
    assert settings.throttling.max_concurrent_requests == 5
    assert legacy.webhooks.settings_api.get_all(app_id).target_url == "https://portal.example/hooks"
    sub = legacy.webhooks.subscriptions_api.create(
        app_id, SubscriptionCreateRequest(event_type="conversation.creation", active=True)
    )
    assert (
        legacy.webhooks.subscriptions_api.get_by_id(int(sub.id), app_id).event_type == "conversation.creation"
    )
    updated = legacy.webhooks.subscriptions_api.update(
        int(sub.id), app_id, SubscriptionPatchRequest(active=False)
    )
    assert updated.active is False
    batch = legacy.webhooks.subscriptions_api.update_batch(
        app_id,
        BatchInputSubscriptionBatchUpdateRequest(
            inputs=[SubscriptionBatchUpdateRequest(id=int(sub.id), active=True)]
        ),
    )
    assert batch.results[0].active is True
    assert [s.id for s in legacy.webhooks.subscriptions_api.get_all(app_id).results] == [sub.id]
    legacy.webhooks.subscriptions_api.archive(int(sub.id), app_id)
    legacy.webhooks.settings_api.clear(app_id)
    assert legacy.webhooks.subscriptions_api.get_all(app_id).results == []
