"""Fixtures of the webhook tests.

Two worlds:
* `platform` tests (security, routing, dedupe) need no HubSpot: a HubSpot app, connections and
  escalations as rows; a handler that would call HubSpot is avoided (actor names pre-cached).
* `sandbox` tests run the seeded sandbox HubSpot over live_server: a registered connection (custom
  channel + channel accounts made by the real registration), threads created through
  `sandbox.domain.publish_message`, agents acting through the sandbox console services. Processing
  calls the sandbox over HTTP, exactly as it would call HubSpot.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from connections.models import ConnectedInbox, Connection, ConnectionStatus
from connections.registration import register_now, request_registration
from conversations.models import EscalationStatus
from sandbox import domain
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxChannel, SandboxChannelAccount, SandboxThread
from tests.connections.helpers import connect
from tests.factories import EscalationFactory, HubSpotAppFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # actor names are cached; each test starts without them
    yield
    cache.clear()


def cache_actor(connection, actor_id: str, name: str, email: str = "") -> None:
    """What the actor lookup would have cached: lets platform tests assign without HubSpot."""
    key = f"hitl:hubspot-actor:{connection.app_id}:{connection.portal_id}:{actor_id}"
    cache.set(key, {"id": actor_id, "name": name, "email": email}, 600)


# Platform (no HubSpot) ----------------------------------------------------------------------------


@pytest.fixture
def platform_app(db):
    return HubSpotAppFactory(tenant=None, name="Platform app", app_id=4242001)


@pytest.fixture
def platform_connection(platform_app, tenant_a):
    return Connection.objects.create(
        tenant=tenant_a, app=platform_app, portal_id=20260301, status=ConnectionStatus.ACTIVE
    )


# Sandbox over live_server -------------------------------------------------------------------------


@pytest.fixture
def sandbox_app(tenant_a, hubspot):
    return HubSpotAppFactory(
        tenant=tenant_a,
        name="Demo app",
        app_id=hubspot["app_id"],
        client_id=hubspot["client_id"],
        client_secret=hubspot["client_secret"],
        developer_api_key=hubspot["developer_api_key"],
    )


@dataclass
class World:
    """The sandbox HubSpot and our registered connection to it."""

    seed: dict
    app: object
    connection: Connection
    channel: SandboxChannel
    account: SandboxChannelAccount

    def agent(self, actor_id: str = "A-1001") -> SandboxActor:
        return SandboxActor.objects.get(portal__portal_id=self.seed["portal_id"], actor_id=actor_id)

    def mute_channel(self) -> None:
        """Stop the sandbox posting channel webhooks: the test delivers payloads itself."""
        SandboxChannel.objects.filter(pk=self.channel.pk).update(webhook_url="")
        self.channel.refresh_from_db()

    def escalate(self, *, status=EscalationStatus.OPEN, email="ada@example.com", map_thread=True):
        """An escalation and its HubSpot thread, as the bot API leaves them after publishing."""
        escalation = EscalationFactory(connection=self.connection, status=status, user_email=email)
        message, _ = domain.publish_message(
            self.channel,
            self.account,
            direction="INCOMING",
            text="Ada Lovelace: Refund",
            senders=[{"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": email}, "name": "Ada"}],
            recipients=[
                {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": str(self.account.pk)}}
            ],
            integration_thread_id=escalation.integration_thread_id,
            idempotency_id=f"{escalation.pk}:1",
        )
        if map_thread:
            escalation.hubspot_thread_id = str(message.thread_id)
            escalation.save(update_fields=["hubspot_thread_id"])
        return escalation, SandboxThread.objects.get(pk=message.thread_id), message

    def reply(self, thread, text: str, *, agent="A-1001", upload=None):
        return actions.reply(thread, self.agent(agent), text=text, upload=upload)


@pytest.fixture
def world(tenant_a, sandbox_app, hubspot) -> World:
    connection = connect(
        tenant_a, sandbox_app, portal_id=hubspot["portal_id"], refresh_token=hubspot["refresh_token"]
    )
    ConnectedInbox.objects.create(connection=connection, inbox_id=hubspot["inbox_ids"][0], position=0)
    request_registration(connection, enqueue=False)
    registration = register_now(connection.pk, sleep=lambda _s: None)
    assert registration.state == "active", registration.detail
    inbox = ConnectedInbox.objects.get(connection=connection)
    account = SandboxChannelAccount.objects.get(pk=inbox.channel_account_id)
    return World(hubspot, sandbox_app, connection, account.channel, account)
