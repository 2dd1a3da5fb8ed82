"""Escalations (a bot's conversation handed to a HubSpot inbox), their messages, the events we
owe the bot with every callback attempt, and every HubSpot webhook we received."""

from conversations.models.api_requests import BotApiRequest
from conversations.models.escalations import (
    BriefingStatus,
    CloseReason,
    Escalation,
    EscalationStatus,
    FailureReason,
)
from conversations.models.events import CallbackAttempt, DeliveryStatus, EscalationEvent, EventType
from conversations.models.messages import EscalationMessage, MessageDirection, PublishStatus
from conversations.models.sla import ActionStatus, SlaBreach
from conversations.models.webhooks import HubSpotEvent, WebhookReceipt

__all__ = [
    "ActionStatus",
    "BotApiRequest",
    "BriefingStatus",
    "CallbackAttempt",
    "CloseReason",
    "DeliveryStatus",
    "Escalation",
    "EscalationEvent",
    "EscalationMessage",
    "EscalationStatus",
    "EventType",
    "FailureReason",
    "HubSpotEvent",
    "MessageDirection",
    "PublishStatus",
    "SlaBreach",
    "WebhookReceipt",
]
