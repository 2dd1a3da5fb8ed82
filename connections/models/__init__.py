"""HubSpot apps, connected portals, their inboxes and custom-channel registrations, bot access."""

from connections.models.access import BotApiKey, CallbackSecret
from connections.models.apps import AppKind, HubSpotApp
from connections.models.channels import ChannelRegistration, CustomChannel, RegistrationState
from connections.models.connection import CallbackSignature, Connection, ConnectionStatus, ErrorOrigin
from connections.models.hours import Holiday, OpeningHours, Weekday
from connections.models.inboxes import ConnectedInbox, InboxState
from connections.models.sla import SlaAction, SlaKind, SlaThreshold

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
    "ErrorOrigin",
    "Holiday",
    "HubSpotApp",
    "InboxState",
    "OpeningHours",
    "RegistrationState",
    "SlaAction",
    "SlaKind",
    "SlaThreshold",
    "Weekday",
]
