"""What an agent does in the console, as state changes plus the webhooks HubSpot would send.

Messages and status changes go through `sandbox.domain` (shared with the API), so a reply typed
here produces exactly what a HubSpot agent's reply produces: `conversation.newMessage` for
subscribed apps and `OUTGOING_CHANNEL_MESSAGE_CREATED` to the custom channel. Each action runs in
one transaction, which makes its webhooks one batch, sent after commit.
"""

from __future__ import annotations

import mimetypes
import uuid

from django.db import transaction

from sandbox import domain, webhooks
from sandbox.models import SandboxActor, SandboxFile, SandboxMessage, SandboxThread
from sandbox.serializers import default_usage_type

# The change source HubSpot reports for changes made in its own UI (contract §9.3 sample).
CHANGE_SOURCE = "CRM_UI"
# Without a channel limit, keep uploads small: files live in a database row.
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class ActionError(Exception):
    """An action the console refuses, with a message for the person."""


def _locked(thread: SandboxThread) -> SandboxThread:
    return SandboxThread.objects.select_for_update().select_related("portal", "channel").get(pk=thread.pk)


def assign(thread: SandboxThread, agent: SandboxActor) -> bool:
    """Assign the thread to an agent; returns False when it already was (nothing is emitted then)."""
    with webhooks.change_source(CHANGE_SOURCE), transaction.atomic():
        thread = _locked(thread)
        if thread.assigned_to == agent.actor_id:
            return False
        thread.assigned_to = agent.actor_id
        thread.save(update_fields=["assigned_to"])
        webhooks.emit_conversation_event(
            thread, "conversation.propertyChange", property_name="assignedTo", property_value=agent.actor_id
        )
    return True


def set_status(thread: SandboxThread, status: str, agent: SandboxActor | None) -> bool:
    """Close or reopen; returns False when the thread already had that status."""
    with webhooks.change_source(CHANGE_SOURCE), transaction.atomic():
        thread = _locked(thread)
        if thread.status == status:
            return False
        domain.set_thread_status(thread, status, actor_id=agent.actor_id if agent else "")
    return True


def check_attachment(thread: SandboxThread, name: str, content_type: str, size: int) -> None:
    """Refuse what the channel's capabilities would make HubSpot's composer refuse."""
    capabilities = thread.channel.capabilities or {}
    types = capabilities.get("outgoingAttachmentTypes")
    if types is not None and "FILE" not in types:
        raise ActionError("This channel does not accept file attachments on outgoing messages.")
    allowed = capabilities.get("allowedFileAttachmentMimeTypes")
    if allowed and content_type not in allowed:
        raise ActionError(f"This channel accepts {', '.join(allowed)} files, not {content_type} ({name}).")
    limit = capabilities.get("maxFileAttachmentSizeBytes") or DEFAULT_MAX_ATTACHMENT_BYTES
    if size > int(limit):
        raise ActionError(f"{name} is {size} bytes; this channel accepts at most {limit} bytes per file.")


def reply(
    thread: SandboxThread,
    agent: SandboxActor,
    *,
    text: str,
    upload=None,
    token: str = "",
) -> SandboxMessage:
    """Send an agent's reply (with an optional uploaded file) to the visitor of `thread`.

    `token` identifies one submission of the reply form, so a resubmitted form returns the message
    it already created instead of sending the reply twice.
    """
    idempotency_id = f"console-{token}" if token else f"console-{uuid.uuid4().hex}"
    if thread.archived:
        raise ActionError("This conversation is in the trash; restore it before replying.")
    if (thread.channel.capabilities or {}).get("allowOutgoingMessages") is False:
        raise ActionError("This channel does not allow outgoing messages.")
    existing = SandboxMessage.objects.filter(
        thread__channel_account=thread.channel_account, integration_idempotency_id=idempotency_id
    ).first()
    if existing:
        return existing

    with webhooks.change_source(CHANGE_SOURCE), transaction.atomic():
        attachments = []
        if upload is not None:
            content_type = (
                getattr(upload, "content_type", "")
                or mimetypes.guess_type(upload.name)[0]
                or "application/octet-stream"
            )
            check_attachment(thread, upload.name, content_type, upload.size)
            content = upload.read()
            extension = upload.name.rsplit(".", 1)[1].lower() if "." in upload.name else ""
            file = SandboxFile.objects.create(
                portal=thread.portal,
                name=upload.name,
                extension=extension,
                content_type=content_type,
                content=content,
                size=len(content),
                access="HIDDEN_PRIVATE",
                folder_path="/conversations",
            )
            attachments.append(
                {"type": "FILE", "fileId": str(file.pk), "fileUsageType": default_usage_type(content_type)}
            )
        latest_incoming = (
            thread.messages.filter(type="MESSAGE", direction=SandboxMessage.Direction.INCOMING)
            .order_by("-created_at", "-id")
            .first()
        )
        visitor = {"deliveryIdentifier": dict(thread.visitor_delivery_identifier)} | (
            {"name": thread.visitor_name} if thread.visitor_name else {}
        )
        message, _ = domain.publish_message(
            thread.channel,
            thread.channel_account,
            direction=SandboxMessage.Direction.OUTGOING,
            text=text,
            attachments=attachments,
            # No senders: the domain fills in the agent (created_by) with the channel account's
            # delivery identifier, the shape HubSpot gives an agent's message.
            senders=(),
            recipients=[visitor] if thread.visitor_delivery_identifier else [],
            integration_thread_id=thread.integration_thread_id,
            idempotency_id=idempotency_id,
            created_by=agent.actor_id,
            client_type="HUBSPOT",
            in_reply_to_id=latest_incoming.message_id if latest_incoming else "",
        )
        if message.thread_id != thread.pk:
            # publish_message finds threads the way the channel's threading model says; a reply
            # must land in the thread on screen, so anything else is undone (webhooks included).
            raise ActionError(
                "HubSpot would thread this reply into another conversation with the same visitor "
                f"(#{message.thread_id}); reply there instead."
            )
    return message


def add_agent(portal, *, name: str, email: str) -> SandboxActor:
    """Create an agent (a HubSpot user with inbox access) with the next free `A-<n>` id."""
    numbers = [
        int(actor_id[2:])
        for actor_id in SandboxActor.objects.filter(portal=portal, actor_id__startswith="A-").values_list(
            "actor_id", flat=True
        )
        if actor_id[2:].isdigit()
    ]
    return SandboxActor.objects.create(
        portal=portal,
        actor_id=f"A-{max(numbers, default=0) + 1}",
        type=SandboxActor.Type.AGENT,
        name=name,
        email=email,
    )
