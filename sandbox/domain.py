"""What happens inside "HubSpot" when a message arrives or a thread changes.

The API views, the agent console and the seed all go through these functions, so threading,
contact matching, idempotency and webhook emission behave the same whoever writes a message.

Visitors: a sender identified by HS_EMAIL_ADDRESS / HS_PHONE_NUMBER that matches a CRM contact of
the portal becomes actor `V-<contact id>` and the thread's associated contact. When nothing matches
the sandbox creates no contact (HubSpot's visitor-first behaviour): the thread gets a visitor
actor `V-<VISITOR_ID_OFFSET + thread id>` and `associatedContactId` holds that bare visitor number,
which is not a CRM contact id (GET /crm/v3/objects/contacts/<it> answers 404). The offset keeps
visitor numbers apart from contact ids, which would otherwise collide (contact 3 vs thread 3).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sandbox import webhooks
from sandbox.models import (
    SandboxActor,
    SandboxChannel,
    SandboxChannelAccount,
    SandboxContact,
    SandboxMessage,
    SandboxThread,
)
from sandbox.serializers import iso, message_json

logger = logging.getLogger(__name__)

VISITOR_ID_OFFSET = 1_000_000_000
THREADING_INTEGRATION = "INTEGRATION_THREAD_ID"
THREADING_DELIVERY = "DELIVERY_IDENTIFIER"


# Event emission -----------------------------------------------------------------------------------


def emit_conversation_event(thread: SandboxThread, subscription_type: str, **kwargs) -> None:
    webhooks.emit_conversation_event(thread, subscription_type, **kwargs)


def emit_channel_event(channel: SandboxChannel, event_type: str, payload: dict) -> None:
    webhooks.emit_channel_event(channel, event_type, payload)


# Contacts and visitors --------------------------------------------------------------------------


def normalize_phone(value: str) -> str:
    """E.164-ish comparison key: '+1 (555) 010-0001' and '+15550100001' are the same number."""
    digits = re.sub(r"\D", "", value or "")
    return f"+{digits}" if digits else ""


def find_contact(portal_id: int, identifier: dict | None) -> SandboxContact | None:
    if not identifier:
        return None
    kind, value = identifier.get("type"), (identifier.get("value") or "").strip()
    if not value:
        return None
    contacts = SandboxContact.objects.filter(portal_id=portal_id, archived=False)
    if kind == "HS_EMAIL_ADDRESS":
        return contacts.filter(email__iexact=value).first()
    if kind == "HS_PHONE_NUMBER":
        wanted = normalize_phone(value)
        # Stored numbers may be formatted; compare normalized keys (a sandbox has few contacts).
        for contact in contacts.exclude(phone="", mobilephone=""):
            if wanted in (normalize_phone(contact.phone), normalize_phone(contact.mobilephone)):
                return contact
    return None


def contact_name(contact: SandboxContact) -> str:
    return f"{contact.firstname} {contact.lastname}".strip()


def _visitor_identity(direction: str, senders: list[dict], recipients: list[dict]) -> tuple[dict, str]:
    """The (deliveryIdentifier, name) of the visitor side of a message."""
    side = senders if direction == SandboxMessage.Direction.INCOMING else recipients
    for participant in side:
        identifier = participant.get("deliveryIdentifier")
        if identifier:
            return dict(identifier), participant.get("name") or ""
    return {}, ""


def _ensure_visitor_actor(thread: SandboxThread) -> None:
    email = ""
    if thread.contact:
        email = thread.contact.email
    elif thread.visitor_delivery_identifier.get("type") == "HS_EMAIL_ADDRESS":
        email = thread.visitor_delivery_identifier.get("value", "")
    name = thread.visitor_name or (contact_name(thread.contact) if thread.contact else "")
    actor, created = SandboxActor.objects.get_or_create(
        portal_id=thread.portal_id,
        actor_id=thread.visitor_actor_id,
        defaults={"type": SandboxActor.Type.VISITOR, "name": name, "email": email},
    )
    if not created and name and not actor.name:
        actor.name = name
        actor.save(update_fields=["name"])


def ensure_integrator_actor(channel: SandboxChannel, portal_id: int) -> str:
    return ensure_integrator_actor_for_app(channel.app, portal_id)


def ensure_integrator_actor_for_app(app, portal_id: int) -> str:
    """The app's INTEGRATOR actor in the portal ("I-<appId>"), the author of what it posts."""
    actor_id = f"I-{app.app_id}"
    SandboxActor.objects.get_or_create(
        portal_id=portal_id,
        actor_id=actor_id,
        defaults={"type": SandboxActor.Type.INTEGRATOR, "name": app.name},
    )
    return actor_id


# Threads ----------------------------------------------------------------------------------------


def threading_model(channel: SandboxChannel) -> str:
    return (channel.capabilities or {}).get("threadingModel") or THREADING_DELIVERY


def _find_thread(
    account: SandboxChannelAccount, model: str, integration_thread_id: str, identifier: dict
) -> SandboxThread | None:
    # Archived threads are out of the inbox; a new message starts a fresh conversation instead.
    threads = SandboxThread.objects.select_for_update().filter(channel_account=account, archived=False)
    if model == THREADING_INTEGRATION and integration_thread_id:
        return threads.filter(integration_thread_id=integration_thread_id).order_by("-id").first()
    if identifier:
        return (
            threads.filter(
                visitor_delivery_identifier__type=identifier.get("type"),
                visitor_delivery_identifier__value=identifier.get("value"),
            )
            .order_by("-id")
            .first()
        )
    return None


def _create_thread(
    account: SandboxChannelAccount,
    integration_thread_id: str,
    identifier: dict,
    name: str,
    contact: SandboxContact | None = None,
) -> SandboxThread:
    contact = contact or find_contact(account.portal_id, identifier)
    thread = SandboxThread.objects.create(
        portal_id=account.portal_id,
        inbox_id=account.inbox_id,
        channel_id=account.channel_id,
        channel_account=account,
        integration_thread_id=integration_thread_id,
        contact=contact,
        visitor_name=name or (contact_name(contact) if contact else ""),
        visitor_delivery_identifier=identifier,
    )
    thread.visitor_actor_id = f"V-{contact.pk}" if contact else f"V-{VISITOR_ID_OFFSET + thread.pk}"
    thread.save(update_fields=["visitor_actor_id"])
    _ensure_visitor_actor(thread)
    return thread


def set_thread_status(thread: SandboxThread, status: str, actor_id: str = "") -> SandboxThread:
    """Open or close a thread; emits conversation.propertyChange(status) only on a real change.

    `actor_id` is who changed it (an agent "A-<id>", or "" for the API); HubSpot does not put it in
    the webhook, so it is only logged.
    """
    if status not in SandboxThread.Status.values:
        raise ValueError(f"unknown thread status {status!r}")
    if thread.status == status:
        return thread
    thread.status = status
    thread.closed_at = timezone.now() if status == SandboxThread.Status.CLOSED else None
    thread.save(update_fields=["status", "closed_at"])
    logger.info("sandbox thread %s set to %s by %s", thread.pk, status, actor_id or "API")
    emit_conversation_event(
        thread, "conversation.propertyChange", property_name="status", property_value=status
    )
    return thread


def set_thread_archived(thread: SandboxThread, archived: bool) -> SandboxThread:
    """Archive (HubSpot's "delete", restorable for 30 days) or restore a thread.

    HubSpot documents both signals for an archive: conversation.propertyChange(isArchived) and
    conversation.deletion ("a thread has been archived or soft-deleted"); a restore is only the
    property change.
    """
    if thread.archived == archived:
        return thread
    thread.archived = archived
    thread.save(update_fields=["archived"])
    emit_conversation_event(
        thread,
        "conversation.propertyChange",
        property_name="isArchived",
        property_value=str(archived).lower(),
    )
    if archived:
        emit_conversation_event(thread, "conversation.deletion")
    return thread


# Messages ---------------------------------------------------------------------------------------


def _participants(items: Iterable[dict], *, with_actor: bool) -> list[dict]:
    """Request participants ({deliveryIdentifier, name?, senderActorId?}) as response ones."""
    result = []
    for item in items:
        out: dict = {}
        actor = item.get("actorId") or item.get("senderActorId")
        if actor and with_actor:
            out["actorId"] = actor
        if item.get("name"):
            out["name"] = item["name"]
        if item.get("deliveryIdentifier"):
            out["deliveryIdentifier"] = dict(item["deliveryIdentifier"])
        result.append(out)
    return result


def _account_identifier(account: SandboxChannelAccount) -> dict:
    if not account.delivery_identifier_type:
        return {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": str(account.pk)}
    return {"type": account.delivery_identifier_type, "value": account.delivery_identifier_value}


def publish_message(
    channel: SandboxChannel,
    account: SandboxChannelAccount,
    *,
    direction: str,
    text: str,
    rich_text: str = "",
    attachments: Iterable[dict] = (),
    senders: Iterable[dict] = (),
    recipients: Iterable[dict] = (),
    integration_thread_id: str = "",
    idempotency_id: str = "",
    created_by: str = "",
    client_type: str = "INTEGRATION",
    in_reply_to_id: str = "",
    timestamp: datetime | None = None,
    contact: SandboxContact | None = None,
) -> tuple[SandboxMessage, bool]:
    """Add a message to the thread it belongs to, creating the thread when needed.

    Returns (message, created). A repeat of an `idempotency_id` already seen on this channel
    account returns the original message and False, and changes nothing.

    Senders/recipients are given the way the publish API takes them
    ({deliveryIdentifier, name?, senderActorId?}). Missing sides are filled in the way HubSpot
    fills them: the visitor's actor id on the visitor side, `created_by` on an agent's sender, the
    channel account's identifier on the integration side. `contact` (the API's
    associateWithContactId) overrides matching the visitor to a contact by delivery identifier.
    """
    senders, recipients, attachments = list(senders), list(recipients), list(attachments)
    with transaction.atomic():
        # Serialises concurrent publishes on one account, so retries cannot race into duplicates.
        SandboxChannelAccount.objects.select_for_update().filter(pk=account.pk).first()
        if idempotency_id:
            existing = SandboxMessage.objects.filter(
                thread__channel_account=account, integration_idempotency_id=idempotency_id
            ).first()
            if existing:
                return existing, False

        identifier, visitor_name = _visitor_identity(direction, senders, recipients)
        thread = _find_thread(account, threading_model(channel), integration_thread_id, identifier)
        new_thread = thread is None
        if new_thread:
            thread = _create_thread(account, integration_thread_id, identifier, visitor_name, contact)
        elif contact is not None and thread.contact_id != contact.pk:
            # associateWithContactId on a later message (re)associates the thread with that contact.
            thread.contact = contact
            thread.save(update_fields=["contact"])

        out_senders = _participants(senders, with_actor=True)
        out_recipients = _participants(recipients, with_actor=True)
        if direction == SandboxMessage.Direction.INCOMING:
            created_by = created_by or thread.visitor_actor_id
            for sender in out_senders:
                sender.setdefault("actorId", thread.visitor_actor_id)
            status_type = "RECEIVED"
        else:
            sender_actor = next((s["actorId"] for s in out_senders if s.get("actorId")), "")
            created_by = created_by or sender_actor or ensure_integrator_actor(channel, account.portal_id)
            if not out_senders:
                out_senders = [_agent_sender(thread.portal_id, created_by, account)]
            for sender in out_senders:
                sender.setdefault("actorId", created_by)
            if not out_recipients and thread.visitor_delivery_identifier:
                out_recipients = [
                    {
                        "actorId": thread.visitor_actor_id,
                        "deliveryIdentifier": dict(thread.visitor_delivery_identifier),
                    }
                    | ({"name": thread.visitor_name} if thread.visitor_name else {})
                ]
            for recipient in out_recipients:
                recipient.setdefault("actorId", thread.visitor_actor_id)
            # An agent's reply waits for the integration to report SENT/FAILED; an integration's
            # own outgoing message is already sent.
            status_type = "" if client_type == "HUBSPOT" else "SENT"

        now = timezone.now()
        message = SandboxMessage.objects.create(
            thread=thread,
            message_id=uuid.uuid4().hex,
            type="MESSAGE",
            direction=direction,
            text=text,
            rich_text=rich_text,
            attachments=attachments,
            senders=out_senders,
            recipients=out_recipients,
            created_by=created_by,
            client_type=client_type,
            integration_idempotency_id=idempotency_id,
            in_reply_to_id=in_reply_to_id,
            status_type=status_type,
            created_at=timestamp or now,
        )
        thread.latest_message_at = max(filter(None, [thread.latest_message_at, message.created_at]))
        thread.save(update_fields=["latest_message_at"])

        if new_thread:
            emit_conversation_event(thread, "conversation.creation")
        elif direction == SandboxMessage.Direction.INCOMING and thread.status == SandboxThread.Status.CLOSED:
            # A visitor writing into a closed conversation reopens it, as in HubSpot's inbox.
            set_thread_status(thread, SandboxThread.Status.OPEN)
        emit_conversation_event(thread, "conversation.newMessage", message=message)
        if client_type == "HUBSPOT" and direction == SandboxMessage.Direction.OUTGOING:
            emit_channel_event(channel, "OUTGOING_CHANNEL_MESSAGE_CREATED", outgoing_message_payload(message))
    return message, True


def add_comment(thread: SandboxThread, *, text: str, rich_text: str, attachments: list[dict], actor_id: str):
    """An internal comment (type COMMENT): stored in the thread for the inbox's users, never sent to
    the visitor (no channel webhook); HubSpot still announces it as conversation.newMessage."""
    with transaction.atomic():
        message = SandboxMessage.objects.create(
            thread=thread,
            message_id=uuid.uuid4().hex,
            type="COMMENT",
            text=text,
            rich_text=rich_text,
            attachments=attachments,
            senders=[{"actorId": actor_id}],
            recipients=[],
            created_by=actor_id,
            client_type="INTEGRATION",
            created_at=timezone.now(),
        )
        emit_conversation_event(thread, "conversation.newMessage", message=message)
    return message


def _agent_sender(portal_id: int, actor_id: str, account: SandboxChannelAccount) -> dict:
    sender: dict = {"actorId": actor_id, "deliveryIdentifier": _account_identifier(account)}
    actor = SandboxActor.objects.filter(portal_id=portal_id, actor_id=actor_id).first()
    if actor and actor.name:
        sender["name"] = actor.name
    return sender


def outgoing_message_payload(message: SandboxMessage) -> dict:
    """The OUTGOING_CHANNEL_MESSAGE_CREATED body HubSpot posts to the channel's webhookUrl (§5.4)."""
    thread = message.thread
    return {
        "type": "OUTGOING_CHANNEL_MESSAGE_CREATED",
        "portalId": str(thread.portal.portal_id),
        "channelId": str(thread.channel_id),
        "channelAccountId": str(thread.channel_account_id),
        "eventId": uuid.uuid4().hex,
        "eventTimestamp": iso(message.created_at),
        "channelIntegrationThreadIds": [thread.integration_thread_id] if thread.integration_thread_id else [],
        "message": message_json(message),
    }


def update_message_status(
    message: SandboxMessage, status_type: str, error_message: str = ""
) -> SandboxMessage:
    """The integration reporting delivery (SENT/FAILED/READ) of a message."""
    message.status_type = status_type
    message.error_message = error_message if status_type == "FAILED" else ""
    message.save(update_fields=["status_type", "error_message", "updated_at"])
    return message
