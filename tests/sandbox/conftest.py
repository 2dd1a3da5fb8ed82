"""Fixtures for the sandbox's HubSpot API tests.

`portal` seeds the demo HubSpot (sandbox.seed) and mints an access token from its refresh token.
SDK fixtures point HubSpot's official clients at `live_server` with strict response validation and
no retries, so a wrong shape or an unexpected status fails the test at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import hubspot
import hubspot_sdk
import pytest
from django.core.cache import cache
from django.test import Client

from sandbox.api.oauth import issue_access_token
from sandbox.models import SandboxApp, SandboxBehaviour, SandboxChannel, SandboxChannelAccount, SandboxToken
from sandbox.seed import seed_demo

API = "/sandbox/api"


@pytest.fixture(autouse=True)
def _fresh_rate_windows():
    # Rate-limit windows live in the cache, which outlives a test's database.
    cache.clear()
    yield
    cache.clear()


@dataclass
class Portal:
    seed: dict
    token: str

    @property
    def app(self) -> SandboxApp:
        return SandboxApp.objects.get(app_id=self.seed["app_id"])

    @property
    def key(self) -> str:
        return self.seed["developer_api_key"]

    def bearer(self, token: str | None = None) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {token or self.token}"}


def mint_token(refresh_token: str, **changes) -> SandboxToken:
    access = issue_access_token(SandboxToken.objects.get(token=refresh_token))
    for name, value in changes.items():
        setattr(access, name, value)
    if changes:
        access.save()
    return access


@pytest.fixture
def portal(db) -> Portal:
    seed = seed_demo("http://testserver")
    return Portal(seed=seed, token=mint_token(seed["refresh_token"]).token)


@pytest.fixture
def behaviour(db) -> SandboxBehaviour:
    return SandboxBehaviour.current()


@pytest.fixture
def api(client: Client):
    """Django test client calls with JSON bodies: api.post(path, body, **headers)."""

    class Api:
        def __getattr__(self, method):
            def call(path, body=None, **extra):
                kwargs = {"content_type": "application/json"} if body is not None else {}
                return getattr(client, method)(API + path, body, **kwargs, **extra)

            return call

    return Api()


@pytest.fixture
def channel(portal) -> SandboxChannel:
    return SandboxChannel.objects.create(
        app=portal.app,
        name="Bot channel",
        webhook_url="https://bot.example/hook",
        capabilities={
            "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", "CHANNEL_SPECIFIC_OPAQUE_ID"],
            "threadingModel": "INTEGRATION_THREAD_ID",
            "allowOutgoingMessages": True,
        },
    )


@pytest.fixture
def account(portal, channel) -> SandboxChannelAccount:
    from sandbox.models import SandboxInbox

    return SandboxChannelAccount.objects.create(
        channel=channel,
        portal_id=SandboxInbox.objects.get(inbox_id=portal.seed["inbox_ids"][0]).portal_id,
        inbox=SandboxInbox.objects.get(inbox_id=portal.seed["inbox_ids"][0]),
        name="Bot account",
        delivery_identifier_type="CHANNEL_SPECIFIC_OPAQUE_ID",
        delivery_identifier_value="bot-1",
    )


# Official SDK clients over real HTTP ------------------------------------------------------------


@pytest.fixture
def live_portal(live_server, settings, transactional_db) -> Portal:
    settings.HUBSPOT_API_BASE = live_server.url + API
    seed = seed_demo(live_server.url)
    return Portal(seed=seed, token=mint_token(seed["refresh_token"]).token)


@pytest.fixture
def sdk(live_server, live_portal) -> hubspot_sdk.HubSpot:
    return hubspot_sdk.HubSpot(
        access_token=live_portal.token,
        base_url=live_server.url + API,
        _strict_response_validation=True,
        max_retries=0,
    )


@pytest.fixture
def dev_sdk(live_server, live_portal) -> hubspot_sdk.HubSpot:
    return hubspot_sdk.HubSpot(
        developer_api_key=live_portal.key,
        base_url=live_server.url + API,
        _strict_response_validation=True,
        max_retries=0,
    )


@pytest.fixture
def legacy(live_server, live_portal) -> hubspot.Client:
    return hubspot.Client.create(
        access_token=live_portal.token,
        api_key=live_portal.key,
        host=live_server.url + API,
        client_side_validation=True,
    )
