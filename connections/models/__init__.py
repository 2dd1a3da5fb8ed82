"""HubSpot apps, connected portals, their inboxes and custom-channel registrations, bot access."""

from connections.models.access import BotApiKey, CallbackSecret
from connections.models.apps import AppKind, HubSpotApp
from connections.models.channels import ChannelRegistration, CustomChannel, RegistrationState
from connections.models.connection import CallbackSignature, Connection, ConnectionStatus
from connections.models.inboxes import ConnectedInbox, InboxState

__all__ = [
    "AppKind",
    "BotApiKey",
    "CallbackSecret",
    "CallbackSignature",
    "ChannelRegistration",
    "ConnectedInbox",
    "Connection",
    "ConnectionStatus",
    "CustomChannel",
    "HubSpotApp",
    "InboxState",
    "RegistrationState",
]
