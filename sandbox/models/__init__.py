"""State of the HubSpot sandbox: a stand-in for HubSpot's own data, not the portal's.

Values here (client secrets, developer API keys, tokens) are the sandbox's *issued* credentials,
the equivalent of what HubSpot holds. They are test data, stored plainly so the sandbox can check
what clients send; the portal's copies of them live encrypted in `connections`.
"""

import sandbox.models.demo_bot  # noqa: F401 (registers the chat page's models)
from sandbox.models.accounts import (
    SandboxActor,
    SandboxApp,
    SandboxAuthCode,
    SandboxContact,
    SandboxFile,
    SandboxInbox,
    SandboxPortal,
    SandboxToken,
)
from sandbox.models.behaviour import SandboxBehaviour
from sandbox.models.channels import SandboxChannel, SandboxChannelAccount, SandboxMessage, SandboxThread
from sandbox.models.webhooks import SandboxSubscription, SandboxWebhookDelivery, SandboxWebhookSettings

__all__ = [
    "SandboxActor",
    "SandboxApp",
    "SandboxAuthCode",
    "SandboxBehaviour",
    "SandboxChannel",
    "SandboxChannelAccount",
    "SandboxContact",
    "SandboxFile",
    "SandboxInbox",
    "SandboxMessage",
    "SandboxPortal",
    "SandboxSubscription",
    "SandboxThread",
    "SandboxToken",
    "SandboxWebhookDelivery",
    "SandboxWebhookSettings",
]
