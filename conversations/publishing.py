"""Publishing the bot side of an escalation to HubSpot as INCOMING custom-channel messages.

`publish_pending()` sends the escalation's pending messages strictly in position order and stops
at the first failure, so the agent never sees message 3 before message 2; the next run resumes
there. Each message carries `integrationIdempotencyId` = EscalationMessage.idempotency_id, stable
across retries, so a task re-run (or the client's own retry after a timeout) cannot post it twice.
Two runs overlapping is also safe: each walks the same order, and HubSpot answers a repeat with
the original message.
"""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone

from connections import registration
from connections.hubspot import (
    RETRYABLE_ERRORS,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotError,
    Transport,
    file_attachment,
    participant,
)
from connections.hubspot.channels import OPAQUE_ID
from connections.models import CustomChannel
from conversations import lifecycle
from conversations.escalations import (
    contact_not_found_message,
    find_contact,
    missing_create_scope_message,
    new_contact_properties,
    sender_identity,
)
from conversations.models import (
    Escalation,
    EscalationMessage,
    EscalationStatus,
    FailureReason,
    MessageDirection,
    PublishStatus,
)
from conversations.publish_lookup import find_published

log = logging.getLogger(__name__)


class NotReady(Exception):
    """The connection cannot publish yet (no channel or channel account); retry later."""


def _channel_id(esc: Escalation) -> str:
    channel = CustomChannel.objects.filter(app_id=esc.connection.app_id).first()
    if channel is None or not channel.channel_id:
        raise NotReady("the app's custom channel is not registered yet")
    return channel.channel_id


def _usage_type(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "IMAGE"
    if content_type.startswith("audio/"):
        return "AUDIO"
    return "OTHER"


def message_body(esc: Escalation, message: EscalationMessage) -> dict:
    """Keyword arguments of HubSpotClient.publish_message for one message (contract §5.3)."""
    if not esc.inbox or not esc.inbox.channel_account_id:
        raise NotReady("the escalation's inbox has no channel account yet")
    if not esc.inbox.delivery_identifier:
        # An account made before delivery identifiers: registration replaces it (see
        # connections.registration._connect_inbox); HubSpot refuses a publish that does not name one.
        raise NotReady("the inbox's channel account has no delivery identifier yet; register again")
    kind, value = sender_identity(esc)
    return {
        "channel_account_id": esc.inbox.channel_account_id,
        "text": message.text,
        # One visitor in HubSpot's thread; the name tells the agent the bot's history lines apart.
        "senders": [participant(kind, value, name=_sender_name(esc, message))],
        # The integration side of the thread: our channel account, named by its delivery identifier.
        "recipients": [participant(OPAQUE_ID, esc.inbox.delivery_identifier)],
        # The thread lands on the contact found at the start, even when the sender is a phone number.
        "associate_with_contact_id": (
            int(esc.hubspot_contact_id) if esc.hubspot_contact_id.isdigit() else None
        ),
        "integration_idempotency_id": message.idempotency_id,
        "integration_thread_id": esc.integration_thread_id,
        "timestamp": message.sent_at,
        "attachments": [
            file_attachment(a["hubspot_file_id"], file_usage_type=_usage_type(a.get("content_type", "")))
            for a in message.attachments or []
            if a.get("hubspot_file_id")
        ],
    }


def _sender_name(esc: Escalation, message: EscalationMessage) -> str:
    return f"Bot (for {esc.user_name})" if message.role == "bot" else esc.user_name


def _should_publish(esc: Escalation) -> bool:
    if esc.status == EscalationStatus.FAILED:
        return False
    # Closed before HubSpot ever saw it: do not create a thread only to close it.
    return not (esc.status == EscalationStatus.CLOSED and not esc.hubspot_thread_id)


def publish_pending(escalation_id) -> int:
    """Publish what is pending, in order. Returns how many were published now.

    Raises RETRYABLE_ERRORS / NotReady for the task to retry; a permanent HubSpot refusal fails
    the escalation (reason publish_failed) instead.
    """
    esc = Escalation.objects.select_related("connection", "inbox").get(pk=escalation_id)
    if not _should_publish(esc):
        return 0
    client = HubSpotClient.for_connection(esc.connection, transport=Transport.for_task())
    if not esc.hubspot_contact_id and esc.status == EscalationStatus.REQUESTED:
        # The request-time search could not reach HubSpot; an unknown user must not publish.
        check = find_contact(client, esc)
        if not check.contact_id and esc.connection.unknown_contact == "create":
            refusal = _create_unknown_contact(client, esc, check)
            if refusal:
                lifecycle.mark_failed(esc, reason=FailureReason.CONTACT_NOT_FOUND, message=refusal)
                return 0
        if not check.contact_id:
            lifecycle.mark_failed(
                esc, reason=FailureReason.CONTACT_NOT_FOUND, message=contact_not_found_message(check)
            )
            return 0
        Escalation.objects.filter(pk=esc.pk).update(
            contact_created=esc.contact_created, **check.apply_to(esc)
        )
    channel_id = _channel_id(esc)
    if esc.inbox and esc.inbox.channel_account_id and not esc.inbox.delivery_identifier:
        # Registered before delivery identifiers: have registration replace the account first.
        registration.request_identifier_upgrade(esc.connection)
        raise NotReady("the inbox's channel account has no delivery identifier yet; registration queued")
    if esc.reopens_thread_id and not esc.hubspot_thread_id and not _reopen_thread(client, esc):
        return 0
    pending = esc.messages.filter(
        direction=MessageDirection.TO_AGENT, publish_status=PublishStatus.PENDING
    ).order_by("position")
    published = 0
    for message in pending:
        try:
            response = client.publish_message(channel_id, **message_body(esc, message))
        except RETRYABLE_ERRORS:
            raise
        except HubSpotError as exc:
            response = find_published(client, esc, message, esc.inbox.channel_account_id, exc)
            if response is None:
                _refused(esc, message, exc)
                return published
        EscalationMessage.objects.filter(pk=message.pk).update(
            publish_status=PublishStatus.PUBLISHED,
            hubspot_message_id=str(response.get("id", "")),
            publish_error="",
            published_at=timezone.now(),
        )
        published += 1
        thread_id = str(response.get("conversationsThreadId") or "")
        if thread_id and not esc.hubspot_thread_id:
            lifecycle.mark_open(esc, thread_id=thread_id)
    return published


def _reopen_thread(client: HubSpotClient, esc: Escalation) -> bool:
    """Reopen policy "same_thread": set the closed thread back to OPEN (HubSpot's thread update;
    a no-op on an open thread, so a retried task may repeat it) before publishing into it. If
    HubSpot will not (the thread was archived or deleted), the escalation takes a new thread and
    says why in `reopen_error`. False when the escalation failed instead (the grant is unusable)."""
    try:
        client.update_thread(esc.reopens_thread_id, status="OPEN")
    except RETRYABLE_ERRORS:
        raise
    except HubSpotAuthError as exc:
        lifecycle.mark_failed(esc, reason=FailureReason.CONNECTION_ERROR, message=str(exc))
        return False
    except HubSpotError as exc:
        log.info(
            "escalation %s: thread %s not reopened, a new one instead: %s", esc.pk, esc.reopens_thread_id, exc
        )
        esc.reopen_error = f"HubSpot did not reopen thread {esc.reopens_thread_id}: {exc}"
        esc.reopens_thread_id = ""
        esc.integration_thread_id = str(uuid.uuid4())
        Escalation.objects.filter(pk=esc.pk).update(
            reopen_error=esc.reopen_error,
            reopens_thread_id="",
            integration_thread_id=esc.integration_thread_id,
        )
    return True


def _create_unknown_contact(client: HubSpotClient, esc: Escalation, check) -> str:
    """The connection's `create` policy, at publish time (the start could not search HubSpot).
    Sets `check.contact_id`; returns why the contact could not be created ("" when it was).
    RETRYABLE_ERRORS propagate: the retried task searches first, so a create whose answer was
    lost is found by that search instead of being made twice (once HubSpot's index has it)."""
    missing = missing_create_scope_message(esc.connection)
    if missing:
        return missing
    try:
        created = client.create_contact(new_contact_properties(esc))
    except RETRYABLE_ERRORS:
        raise
    except HubSpotError as exc:
        return f"HubSpot refused to create the contact: {exc}"
    check.contact_id = str(created["id"])
    esc.contact_created = True
    return ""


def _refused(esc: Escalation, message: EscalationMessage, exc: HubSpotError) -> None:
    """HubSpot said no (400/403/404…): retrying the same body cannot help, and skipping the
    message would deliver the rest out of order, so the hand-off fails and the bot falls back."""
    text = f"HubSpot refused message #{message.position}: {exc}"
    log.warning("escalation %s: %s", esc.pk, text)
    EscalationMessage.objects.filter(pk=message.pk).update(
        publish_status=PublishStatus.FAILED, publish_error=text
    )
    reason = (
        FailureReason.CONNECTION_ERROR if isinstance(exc, HubSpotAuthError) else FailureReason.PUBLISH_FAILED
    )
    lifecycle.mark_failed(esc, reason=reason, message=text)
