"""Factories for the console tests: a connection with an inbox per tenant, and escalations whose
timestamps (auto_now_add / auto_now in the model) can be set to known values."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from conversations.models import Escalation, EscalationMessage, MessageDirection, PublishStatus
from tests.factories import InboxFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class EscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Escalation

    connection = factory.LazyAttribute(lambda e: e.inbox.connection)
    inbox = factory.SubFactory(InboxFactory)
    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    user_name = "Ada Lovelace"
    user_phone = factory.Sequence(lambda n: f"+44770090{n:04d}")
    user_email = factory.Sequence(lambda n: f"user{n}@example.com")
    title = factory.Sequence(lambda n: f"Question {n}")


def escalation(inbox, *, created_at: dt.datetime | None = None, **fields) -> Escalation:
    """An escalation in `inbox`, with created_at and any other timestamps set as given."""
    timestamps = {k: fields.pop(k) for k in list(fields) if k.endswith("_at")}
    esc = EscalationFactory(inbox=inbox, connection=inbox.connection, **fields)
    updates = {"created_at": created_at or timezone.now(), **timestamps}
    Escalation.objects.filter(pk=esc.pk).update(**updates)
    esc.refresh_from_db()
    return esc


def message(esc, position: int, *, role: str = "user", text: str = "hello", **fields) -> EscalationMessage:
    direction = MessageDirection.TO_BOT if role == "agent" else MessageDirection.TO_AGENT
    defaults = {
        "publish_status": PublishStatus.RECEIVED if role == "agent" else PublishStatus.PUBLISHED,
        "sent_at": timezone.now(),
    }
    return EscalationMessage.objects.create(
        escalation=esc, position=position, role=role, direction=direction, text=text, **{**defaults, **fields}
    )
