"""What a handler gets (Context) and returns (Outcome)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone

from connections.hubspot import HubSpotClient
from connections.models import Connection
from conversations.models import Escalation, HubSpotEvent


@dataclass
class Outcome:
    status: str  # a HubSpotEvent.Status
    result: str

    @classmethod
    def done(cls, result: str) -> Outcome:
        return cls(HubSpotEvent.Status.PROCESSED, result)

    @classmethod
    def ignored(cls, result: str) -> Outcome:
        return cls(HubSpotEvent.Status.IGNORED, result)


NOT_OURS = "not an escalation thread"


@dataclass
class Context:
    event: HubSpotEvent
    connection: Connection
    escalation: Escalation | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def payload(self) -> dict:
        return self.event.payload

    @property
    def at(self) -> dt.datetime:
        """HubSpot's time of the change (lifecycle orders changes by it), else when we got it."""
        return self.event.occurred_at or self.event.created_at or timezone.now()

    @cached_property
    def client(self) -> HubSpotClient:
        # Built only when a handler needs HubSpot: foreign threads cost no API call.
        return HubSpotClient.for_connection(self.connection)
