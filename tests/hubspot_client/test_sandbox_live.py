"""End to end over real HTTP: the client against the sandbox's HubSpot API (sandbox/api), served by
`live_server` and seeded with sandbox.seed. Nothing is mocked between the client and the server.

Sleeps are injected: a retry's wait is recorded, and where the sandbox's fixed 10 s rate window
must pass, the recorded "sleep" ends the window instead of waiting for it (the sandbox keeps its
windows in the same cache), so the tests stay fast while the client still sees HubSpot's 429.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from connections.hubspot import (
    HubSpotClient,
    HubSpotDeveloperClient,
    HubSpotInvalidGrant,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotServerError,
    OAuthClient,
    Transport,
    file_attachment,
    participant,
)
from connections.hubspot.ratelimit import portal_limiter
from connections.hubspot.tokens import get_access_token
from connections.models import Connection, ConnectionStatus
from sandbox import realism
from sandbox.models import SandboxBehaviour, SandboxToken
from sandbox.seed import seed_demo
from tests.hubspot_client.factories import AppFactory, ConnectionFactory

BOT_WEB = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-web"}
CAPABILITIES = {
    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", "CHANNEL_SPECIFIC_OPAQUE_ID"],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "allowOutgoingMessages": True,
    "outgoingAttachmentTypes": ["FILE"],
    "allowedFileAttachmentMimeTypes": ["image/png"],
    "maxFileAttachmentCount": 1,
    "maxFileAttachmentSizeBytes": 1_500_000,
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Sleeps:
    """Records waits; `and_then` lets a test make the wait 'happen' (end a rate window)."""

    def __init__(self):
        self.calls: list[float] = []
        self.and_then = None

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.and_then:
            self.and_then()


@dataclass
class Live:
    seed: dict
    connection: Connection
    client: HubSpotClient
    dev: HubSpotDeveloperClient
    oauth: OAuthClient
    sleeps: Sleeps

    @property
    def inbox_id(self) -> int:
        return self.seed["inbox_ids"][0]


@pytest.fixture
def live(live_server, settings, transactional_db):
    settings.HUBSPOT_API_BASE = live_server.url + "/sandbox/api"
    settings.HUBSPOT_APP_BASE = live_server.url + "/sandbox/app"
    settings.HUBSPOT_MAX_RETRIES = 3
    cache.clear()
    seed = seed_demo(live_server.url)
    app = AppFactory(
        app_id=seed["app_id"],
        client_id=seed["client_id"],
        client_secret=seed["client_secret"],
        developer_api_key=seed["developer_api_key"],
    )
    # As the consent flow leaves it: a refresh token, no access token yet.
    connection = ConnectionFactory(
        app=app,
        tenant=app.tenant,
        portal_id=seed["portal_id"],
        access_token="",
        access_token_expires_at=None,
        refresh_token=seed["refresh_token"],
    )
    sleeps = Sleeps()
    transport = Transport(sleep=sleeps, jitter=lambda cap: cap)
    yield Live(
        seed=seed,
        connection=connection,
        client=HubSpotClient.for_connection(connection, transport=transport),
        dev=HubSpotDeveloperClient.for_app(app, transport=transport),
        oauth=OAuthClient.for_app(app, transport=transport),
        sleeps=sleeps,
    )
    cache.clear()


@pytest.fixture(params=["2026-03", "v3"])
def api_version(request, settings):
    """Runs a test once per endpoint family (HUBSPOT_API_VERSION)."""
    settings.HUBSPOT_API_VERSION = request.param
    return request.param


def _new_channel(live: Live) -> dict:
    return live.dev.create_channel(
        f"Bot {uuid.uuid4().hex[:6]}", CAPABILITIES, webhook_url="https://hitl.example.com/hubspot/channel/x/"
    )


def _publish(live: Live, channel_id, account_id, *, idempotency_id=None, text="I need a human", **extra):
    return live.client.publish_message(
        channel_id,
        channel_account_id=account_id,
        text=text,
        senders=[participant("HS_EMAIL_ADDRESS", "ada@example.com", name="Ada Lovelace")],
        recipients=[participant("CHANNEL_SPECIFIC_OPAQUE_ID", "bot-web")],
        integration_thread_id="conversation-1",
        integration_idempotency_id=idempotency_id or str(uuid.uuid4()),
        **extra,
    )


# --- OAuth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2026-03", "v3"])
def test_refresh_and_token_info(live, settings, version):
    settings.HUBSPOT_API_VERSION = version

    token = get_access_token(live.connection.pk)
    info = live.oauth.token_info(token)

    live.connection.refresh_from_db()
    assert live.connection.access_token == token
    assert live.connection.access_token_expires_at > timezone.now() + dt.timedelta(minutes=20)
    assert live.connection.refresh_token == live.seed["refresh_token"]  # the sandbox does not rotate
    assert info.hub_id == live.seed["portal_id"]
    assert info.app_id == live.seed["app_id"]
    assert info.user == "alice.agent@demo-company.example"
    assert set(live.seed["scopes"]) <= set(info.scopes)
    assert 0 < info.expires_in <= 1800


def test_expired_token_on_the_server_is_refreshed_once_on_401(live):
    token = get_access_token(live.connection.pk)
    # HubSpot revoked/expired it early; our row still believes it is good for 30 minutes.
    SandboxToken.objects.filter(token=token).update(expires_at=timezone.now() - dt.timedelta(seconds=5))

    inboxes = list(live.client.iter_inboxes())

    assert {i["id"] for i in inboxes} >= {str(i) for i in live.seed["inbox_ids"]}
    live.connection.refresh_from_db()
    assert live.connection.access_token != token


def test_revoked_refresh_token_puts_the_connection_in_error(live):
    live.oauth.revoke_refresh_token(live.seed["refresh_token"])

    with pytest.raises(HubSpotInvalidGrant):
        get_access_token(live.connection.pk)

    live.connection.refresh_from_db()
    assert live.connection.status == ConnectionStatus.ERROR
    assert "Connect the portal again" in live.connection.last_error
    assert live.seed["refresh_token"] not in live.connection.last_error


# --- custom channels and accounts ------------------------------------------------------------------


def test_channel_lifecycle(live, api_version):
    created = _new_channel(live)
    channel_id = created["id"]

    listed = [c["id"] for c in live.dev.iter_channels(limit=1)]
    fetched = live.dev.get_channel(channel_id)
    updated = live.dev.update_channel(channel_id, name="Renamed bot", channel_description="Bot hand-over")
    live.dev.delete_channel(channel_id)

    assert channel_id in listed
    assert fetched["capabilities"]["threadingModel"] == "INTEGRATION_THREAD_ID"
    assert updated["name"] == "Renamed bot" and updated["channelDescription"] == "Bot hand-over"
    assert updated["webhookUrl"] == "https://hitl.example.com/hubspot/channel/x/"  # untouched by the PATCH
    with pytest.raises(HubSpotNotFound):
        live.dev.get_channel(channel_id)


def test_channel_accounts(live, api_version):
    channel = _new_channel(live)

    account = live.client.create_channel_account(
        channel["id"],
        name="Bot (web)",
        inbox_id=live.inbox_id,
        delivery_identifier={"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-web"},
    )
    accounts = list(live.client.iter_channel_accounts(channel["id"]))
    renamed = live.client.update_channel_account(channel["id"], account["id"], name="Bot (website)")
    fetched = live.client.get_channel_account(channel["id"], account["id"])

    assert account["inboxId"] == str(live.inbox_id) and account["authorized"] is True
    assert [a["id"] for a in accounts] == [account["id"]]
    assert renamed["name"] == fetched["name"] == "Bot (website)"


# --- messages and threads --------------------------------------------------------------------------


def test_publish_replay_thread_and_close(live, api_version):
    channel = _new_channel(live)
    account = live.client.create_channel_account(
        channel["id"], name="Bot (web)", inbox_id=live.inbox_id, delivery_identifier=BOT_WEB
    )

    first = _publish(live, channel["id"], account["id"], idempotency_id="bot-msg-1")
    replay = _publish(live, channel["id"], account["id"], idempotency_id="bot-msg-1")
    second = _publish(live, channel["id"], account["id"], text="Are you there?")

    assert replay["id"] == first["id"]  # idempotent: no duplicate message
    assert second["conversationsThreadId"] == first["conversationsThreadId"]  # same integrationThreadId
    thread_id = first["conversationsThreadId"]
    thread = live.client.get_thread(thread_id)
    assert thread["status"] == "OPEN" and thread["inboxId"] == str(live.inbox_id)
    messages = [m for m in live.client.iter_thread_messages(thread_id) if m["type"] == "MESSAGE"]
    assert [m["id"] for m in messages] == [first["id"], second["id"]]
    assert live.client.get_message(channel["id"], first["id"])["text"] == "I need a human"
    assert thread_id in {t["id"] for t in live.client.iter_threads(inbox_ids=[live.inbox_id])}

    closed = live.client.close_thread(thread_id)

    assert closed["status"] == "CLOSED"
    assert live.client.get_thread(thread_id)["status"] == "CLOSED"


def test_publish_with_an_uploaded_file(live, api_version):
    channel = _new_channel(live)
    account = live.client.create_channel_account(
        channel["id"], name="Bot (web)", inbox_id=live.inbox_id, delivery_identifier=BOT_WEB
    )

    uploaded = live.client.upload_file(PNG, "screenshot.png", content_type="image/png")
    signed = live.client.get_signed_url(uploaded["id"])
    message = _publish(
        live,
        channel["id"],
        account["id"],
        text="Here is a screenshot",
        attachments=[file_attachment(uploaded["id"], file_usage_type="IMAGE")],
    )

    assert uploaded["id"] and uploaded["size"] == len(PNG)
    assert signed["url"].startswith("http")
    assert message["attachments"][0]["fileId"] == uploaded["id"]


def test_actors(live):
    agent = live.client.get_actor("A-1001")
    batch = live.client.batch_read_actors(["A-1001", "A-1002"])
    assert agent["type"] == "AGENT" and agent["email"] == "alice.agent@demo-company.example"
    assert {a["id"] for a in batch["results"]} == {"A-1001", "A-1002"}


# --- CRM ---------------------------------------------------------------------------------------------


def test_contact_search_by_email_and_phone(live, api_version):
    by_email = live.client.find_contacts_by_email("ada@example.com")
    by_phone = live.client.find_contacts_by_phone("+15550100002")
    nobody = live.client.find_contacts_by_email("nobody@example.com")

    assert [c["properties"]["firstname"] for c in by_email] == ["Ada"]
    assert [c["properties"]["firstname"] for c in by_phone] == ["Grace"]
    assert nobody == []
    contact = live.client.get_contact(by_email[0]["id"])
    assert contact["properties"]["email"] == "ada@example.com"


# --- webhooks API -------------------------------------------------------------------------------------


def test_webhook_settings_and_subscriptions(live, api_version):
    target = "https://hitl.example.com/hubspot/webhooks/3f1e2d4c/"

    saved = live.dev.update_webhook_settings(target, max_concurrent_requests=5)
    assert live.dev.get_webhook_settings()["targetUrl"] == saved["targetUrl"] == target

    created = live.dev.create_subscription("conversation.propertyChange", property_name="assignedTo")
    listed = live.dev.list_subscriptions()
    paused = live.dev.update_subscription(created["id"], active=False)
    live.dev.delete_subscription(created["id"])

    assert created["id"] in [s["id"] for s in listed]
    assert paused["active"] is False
    assert created["id"] not in [s["id"] for s in live.dev.list_subscriptions()]


# --- misbehaving HubSpot ----------------------------------------------------------------------------


def test_429_from_the_sandbox_is_waited_out_and_retried(live, settings, monkeypatch):
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 0  # our own limiter off, so the sandbox's 429 is reached
    # The sandbox counts in wall-clock windows of 10 s: on a slow machine the three calls could
    # straddle a window's end and never meet the limit. Its clock stands still for this test.
    monkeypatch.setattr(realism, "time", SimpleNamespace(time=lambda: 1_800_000_003.0))
    SandboxBehaviour.objects.filter(pk=1).update(rate_limit_per_10s=2)
    get_access_token(live.connection.pk)  # the token endpoint is not rate limited
    live.sleeps.and_then = cache.clear  # the sandbox's window (kept in this cache) has passed

    for _ in range(3):
        live.client.list_inboxes()

    assert len(live.sleeps.calls) == 1
    assert 1 <= live.sleeps.calls[0] <= 10  # the sandbox's Retry-After: the rest of its window


def test_our_limiter_holds_requests_back_instead_of_collecting_429s(live, settings):
    SandboxBehaviour.objects.filter(pk=1).update(rate_limit_per_10s=3)
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 3
    get_access_token(live.connection.pk)
    client = HubSpotClient.for_connection(
        live.connection,
        transport=live.client.transport,
        limiter=portal_limiter(live.seed["app_id"], live.seed["portal_id"], max_wait=0),
    )

    for _ in range(3):
        client.list_inboxes()
    with pytest.raises(HubSpotRateLimited) as caught:
        client.list_inboxes()

    assert caught.value.status is None  # refused here, before HubSpot saw it
    assert live.sleeps.calls == []  # and no 429 came back to be waited out


def test_injected_5xx_is_retried(live):
    get_access_token(live.connection.pk)
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=2, fail_status=502)

    inboxes = live.client.list_inboxes()

    assert len(inboxes) >= 2
    assert live.sleeps.calls == [0.5, 1.0]
    assert SandboxBehaviour.current().fail_next_requests == 0


def test_injected_503_on_a_create_is_not_replayed(live):
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=1, fail_status=503)

    with pytest.raises(HubSpotServerError) as caught:
        _new_channel(live)

    assert caught.value.status == 503 and caught.value.correlation_id
    assert live.sleeps.calls == []
    assert _new_channel(live)["id"]  # the next one goes through
