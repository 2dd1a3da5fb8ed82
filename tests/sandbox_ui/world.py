"""Builds a small sandbox HubSpot: a portal with an inbox and agents, an installed app with
webhook subscriptions, a custom channel and a thread a visitor started."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from sandbox import domain
from sandbox.models import (
    SandboxActor,
    SandboxApp,
    SandboxChannel,
    SandboxChannelAccount,
    SandboxInbox,
    SandboxPortal,
    SandboxSubscription,
    SandboxThread,
    SandboxToken,
    SandboxWebhookSettings,
)

CLIENT_SECRET = "sandbox-client-secret-0f3a"
SUBSCRIPTIONS = (
    ("conversation.creation", ""),
    ("conversation.newMessage", ""),
    ("conversation.propertyChange", "assignedTo"),
    ("conversation.propertyChange", "status"),
)
CAPABILITIES = {
    "deliveryIdentifierTypes": ["CHANNEL_SPECIFIC_OPAQUE_ID"],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "allowOutgoingMessages": True,
    "outgoingAttachmentTypes": ["FILE"],
    "allowedFileAttachmentMimeTypes": ["image/png", "application/pdf", "text/plain"],
    "maxFileAttachmentSizeBytes": 1_500_000,
}


def make_png(width: int = 160, height: int = 90) -> bytes:
    """A real PNG (an orange-to-blue gradient), so a browser shows something visible."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((255 - x, 122 + x // 3, 89 + x)) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class World:
    portal: SandboxPortal
    app: SandboxApp
    inbox: SandboxInbox
    agents: list[SandboxActor]
    channel: SandboxChannel
    account: SandboxChannelAccount
    threads: list[SandboxThread] = field(default_factory=list)

    @property
    def thread(self) -> SandboxThread:
        return self.threads[0]

    def visitor_writes(
        self, text: str, *, conversation: str = "conv-1", visitor: str = "visitor-1", name="Vera"
    ):
        message, _ = domain.publish_message(
            self.channel,
            self.account,
            direction="INCOMING",
            text=text,
            senders=[
                {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": visitor}, "name": name}
            ],
            recipients=[
                {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-account"}}
            ],
            integration_thread_id=conversation,
        )
        if message.thread not in self.threads:
            self.threads.append(message.thread)
        return message


def build_world(
    *,
    app_webhook_url: str = "http://127.0.0.1:9/app-hook",
    channel_webhook_url: str = "http://127.0.0.1:9/channel-hook",
    subscriptions=SUBSCRIPTIONS,
    installed: bool = True,
    with_thread: bool = True,
    suffix: int = 0,
) -> World:
    portal = SandboxPortal.objects.create(
        portal_id=62515 + suffix, name=f"Acme Support {suffix}".strip(" 0"), hub_domain="acme.example.com"
    )
    app = SandboxApp.objects.create(
        app_id=77 + suffix,
        name="HITL Portal",
        client_id=f"client-id-{suffix}",
        client_secret=CLIENT_SECRET,
        developer_api_key=f"dev-key-{suffix}",
        redirect_urls=[],
    )
    SandboxWebhookSettings.objects.create(app=app, target_url=app_webhook_url)
    for event_type, property_name in subscriptions:
        SandboxSubscription.objects.create(app=app, event_type=event_type, property_name=property_name)
    if installed:
        SandboxToken.objects.create(
            kind=SandboxToken.Kind.REFRESH,
            token=f"refresh-{suffix}",
            app=app,
            portal=portal,
            scopes=["oauth", "conversations.read"],
            user_email="admin@acme.example.com",
        )
        SandboxToken.objects.create(
            kind=SandboxToken.Kind.ACCESS,
            token=f"access-{suffix}",
            app=app,
            portal=portal,
            scopes=["oauth", "conversations.read"],
            user_email="admin@acme.example.com",
            expires_at=timezone.now() + timedelta(minutes=30),
        )
    inbox = SandboxInbox.objects.create(portal=portal, inbox_id=5001 + suffix, name="Support")
    agents = [
        SandboxActor.objects.create(
            portal=portal,
            actor_id="A-101",
            type=SandboxActor.Type.AGENT,
            name="Alice Agent",
            email="alice@acme.example.com",
        ),
        SandboxActor.objects.create(
            portal=portal,
            actor_id="A-102",
            type=SandboxActor.Type.AGENT,
            name="Bob Agent",
            email="bob@acme.example.com",
        ),
    ]
    channel = SandboxChannel.objects.create(
        app=app, name="HITL bots", capabilities=dict(CAPABILITIES), webhook_url=channel_webhook_url
    )
    account = SandboxChannelAccount.objects.create(
        channel=channel,
        portal=portal,
        inbox=inbox,
        name="Support bot",
        delivery_identifier_type="CHANNEL_SPECIFIC_OPAQUE_ID",
        delivery_identifier_value="bot-account",
    )
    world = World(portal, app, inbox, agents, channel, account)
    if with_thread:
        world.visitor_writes("Hi, I need a human please")
    return world
