"""factory_boy factories for the portal's models: the one place tests build rows.

Timestamps the models set themselves (auto_now_add `created_at`, ...) can be given anyway: the
escalation and log factories write them after the insert, so tests can place rows on known days.
"""

import datetime as dt
import json

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from connections.models import ConnectedInbox, Connection, ConnectionStatus, HubSpotApp, InboxState
from conversations.models import (
    CallbackAttempt,
    DeliveryStatus,
    Escalation,
    EscalationEvent,
    EscalationMessage,
    EventType,
    HubSpotEvent,
    MessageDirection,
    PublishStatus,
    WebhookReceipt,
)
from tenants.models import Membership, Role, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")
    is_staff = True


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


class HubSpotAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HubSpotApp

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"App {n}")
    app_id = factory.Sequence(lambda n: 1000 + n)
    client_id = factory.Sequence(lambda n: f"client-{n}")
    client_secret = factory.Sequence(lambda n: f"client-secret-value-{n}")
    developer_api_key = factory.Sequence(lambda n: f"dev-api-key-value-{n}")


class ConnectionFactory(factory.django.DjangoModelFactory):
    """An active connection of its tenant's own app."""

    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    app = factory.SubFactory(HubSpotAppFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Portal {n}")
    portal_id = factory.Sequence(lambda n: 5_000_000 + n)
    status = ConnectionStatus.ACTIVE


class InboxFactory(factory.django.DjangoModelFactory):
    """A connected inbox with its channel account."""

    class Meta:
        model = ConnectedInbox

    connection = factory.SubFactory(ConnectionFactory)
    inbox_id = factory.Sequence(lambda n: 500 + n)
    name = factory.Sequence(lambda n: f"Support {n}")
    channel_account_id = factory.Sequence(lambda n: f"acct-{n}")
    state = InboxState.ACTIVE


# A fixed instant for tests that place rows at known times.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


AUTO_FIELDS = ("created_at", "updated_at")


class _SettableTimestamps(factory.django.DjangoModelFactory):
    """Accepts auto-set `*_at` fields (created_at, updated_at) and writes them after the insert."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        auto = {k: kwargs.pop(k) for k in AUTO_FIELDS if kwargs.get(k) is not None}
        kwargs = {k: v for k, v in kwargs.items() if k not in AUTO_FIELDS}
        obj = super()._create(model_class, *args, **kwargs)
        if auto:
            model_class.objects.filter(pk=obj.pk).update(**auto)
            for name, value in auto.items():
                setattr(obj, name, value)
        return obj


class EscalationFactory(_SettableTimestamps):
    """An escalation of a connection (of `inbox`'s connection when an inbox is given)."""

    class Meta:
        model = Escalation

    inbox = None
    connection = factory.Maybe(
        "inbox",
        yes_declaration=factory.SelfAttribute("inbox.connection"),
        no_declaration=factory.SubFactory(ConnectionFactory),
    )
    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    user_name = "Ada Lovelace"
    user_phone = factory.Sequence(lambda n: f"+44770090{n:04d}")
    user_email = factory.Sequence(lambda n: f"user{n}@example.com")
    title = factory.Sequence(lambda n: f"Question {n}")
    hubspot_thread_id = ""


class MessageFactory(factory.django.DjangoModelFactory):
    """A transcript line: `role="agent"` is one to the bot, received from HubSpot; else one published."""

    class Meta:
        model = EscalationMessage

    class Params:
        to_bot = factory.LazyAttribute(lambda m: m.role == "agent")

    escalation = factory.SubFactory(EscalationFactory)
    position = factory.Sequence(lambda n: n + 1)
    role = "user"
    text = "hello"
    direction = factory.LazyAttribute(
        lambda m: MessageDirection.TO_BOT if m.to_bot else MessageDirection.TO_AGENT
    )
    publish_status = factory.LazyAttribute(
        lambda m: PublishStatus.RECEIVED if m.to_bot else PublishStatus.PUBLISHED
    )
    sent_at = factory.LazyFunction(timezone.now)


class EscalationEventFactory(_SettableTimestamps):
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


class HubSpotEventFactory(_SettableTimestamps):
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


def escalation(inbox, *, created_at: dt.datetime | None = None, **fields) -> Escalation:
    """An escalation in `inbox`, with created_at (now by default) and any other `*_at` set as given."""
    timestamps = {k: fields.pop(k) for k in list(fields) if k.endswith("_at")}
    esc = EscalationFactory(inbox=inbox, **fields)
    Escalation.objects.filter(pk=esc.pk).update(created_at=created_at or timezone.now(), **timestamps)
    esc.refresh_from_db()
    return esc


def message(esc, position: int, *, role: str = "user", text: str = "hello", **fields) -> EscalationMessage:
    return MessageFactory(escalation=esc, position=position, role=role, text=text, **fields)
