"""Factories for the console log and dashboard tests: connections, inboxes, escalations with exact
times, bot events, callback attempts, webhook receipts and HubSpot events.

`created_at` fields are auto_now_add; the factories accept one anyway and write it after the
insert, so tests can place rows on known days.
"""

import datetime as dt
import json

import factory
from django.utils import timezone

from conversations.models import (
    CallbackAttempt,
    DeliveryStatus,
    Escalation,
    EscalationEvent,
    EventType,
    HubSpotEvent,
    WebhookReceipt,
)
from tests.factories import ConnectionFactory, HubSpotAppFactory


class _SettableCreatedAt(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        created_at = kwargs.pop("created_at", None)
        obj = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=obj.pk).update(created_at=created_at)
            obj.created_at = created_at
        return obj


class EscalationFactory(_SettableCreatedAt):
    class Meta:
        model = Escalation

    connection = factory.SubFactory(ConnectionFactory)
    inbox = None
    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    user_name = "Ada Lovelace"
    user_email = "ada@example.com"
    title = factory.Sequence(lambda n: f"Question {n}")
    hubspot_thread_id = factory.Sequence(lambda n: str(70_000 + n))


class EscalationEventFactory(_SettableCreatedAt):
    class Meta:
        model = EscalationEvent

    escalation = factory.SubFactory(EscalationFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    type = EventType.OPENED
    data = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(timezone.now)
    dedupe_key = factory.Sequence(lambda n: f"cause:{n}")
    delivery_status = DeliveryStatus.PENDING


class CallbackAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallbackAttempt

    event = factory.SubFactory(EscalationEventFactory)
    url = "https://bot.example.com/hitl/events?token=bot-secret-token"
    status_code = 500
    duration_ms = 120
    error = "HTTP 500"
    response_excerpt = '{"error": "bot down"}'


class WebhookReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookReceipt

    app = factory.SubFactory(HubSpotAppFactory)
    kind = WebhookReceipt.Kind.APP
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    body = factory.LazyFunction(lambda: json.dumps([{"eventId": 1}]))
    remote_ip = "203.0.113.7"
    event_count = 1
    status = WebhookReceipt.Status.PROCESSED


class HubSpotEventFactory(_SettableCreatedAt):
    class Meta:
        model = HubSpotEvent

    app = factory.SubFactory(HubSpotAppFactory)
    receipt = factory.SubFactory(WebhookReceiptFactory, app=factory.SelfAttribute("..app"))
    dedupe_key = factory.Sequence(lambda n: f"event:{10_000 + n}")
    event_type = "conversation.propertyChange"
    portal_id = 20260301
    object_id = factory.Sequence(lambda n: str(80_000 + n))
    occurred_at = factory.LazyFunction(timezone.now)
    payload = factory.LazyAttribute(lambda e: {"id": e.dedupe_key.split(":", 1)[-1], "objectId": e.object_id})
    status = HubSpotEvent.Status.PROCESSED


def at(day: dt.date, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    """An aware datetime on `day` in the current time zone."""
    return dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=timezone.get_current_timezone())
