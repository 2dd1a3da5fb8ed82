"""JSON shapes of sandbox rows, exactly as HubSpot's API emits them.

Every function returns a dict that hubspot_sdk parses with `_strict_response_validation=True`
(docs/hubspot-contract.md §0.4): required keys always present, ids as strings, date-times as
`...Z` ISO strings, optional keys left out rather than sent as null. The webhook sender and the
agent console import these too, so the API and the events can never disagree on a shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from sandbox.models import (
    SandboxActor,
    SandboxChannel,
    SandboxChannelAccount,
    SandboxContact,
    SandboxFile,
    SandboxInbox,
    SandboxMessage,
    SandboxThread,
)
from sandbox.phones import searchable_phone

FILE_USAGE_TYPES = {"AUDIO", "IMAGE", "OTHER", "STICKER", "VOICE_RECORDING"}


def iso(dt: datetime) -> str:
    """`2026-03-01T12:00:00.123Z`: the one date-time format both SDKs parse (contract §0.3)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _compact(data: dict) -> dict:
    """Drop optional keys with no value: strict SDK models reject null in many places.

    Callers turn empty optional strings into None with `or None`; required strings such as a
    message's `text` may legitimately be "" and must stay.
    """
    return {k: v for k, v in data.items() if v is not None}


# Files ------------------------------------------------------------------------------------------


def sandbox_api_base() -> str:
    """Where clients reach the sandbox API, for absolute URLs such as a file's `url`.

    HUBSPOT_API_BASE is how the portal reaches "HubSpot"; when it points at this sandbox, download
    URLs must use it too (tests move it to the live server). When the portal talks to the real
    HubSpot while the sandbox is still mounted, fall back to the public origin.
    """
    base = settings.HUBSPOT_API_BASE
    if base.endswith("/sandbox/api"):
        return base
    return f"{settings.PUBLIC_BASE_URL}/sandbox/api"


def file_token(file: SandboxFile) -> str:
    """An unguessable, stable part of the download URL, derived so no column has to hold it."""
    return salted_hmac("sandbox.file-download", str(file.pk)).hexdigest()[:32]


def file_url(file: SandboxFile) -> str:
    """The download URL (served by sandbox.api.files.download); built by hand, not reverse()d,
    because the webhook sender calls this where the sandbox URLs may not be mounted."""
    return f"{sandbox_api_base()}/_files/{file.pk}/{file_token(file)}/{quote(file.name or 'file')}"


def file_type(extension: str, content_type: str) -> str:
    """HubSpot's coarse file `type` (IMG, MOVIE, AUDIO, DOCUMENT, OTHER)."""
    major = content_type.split("/", 1)[0]
    if major == "image":
        return "IMG"
    if major == "video":
        return "MOVIE"
    if major == "audio":
        return "AUDIO"
    if extension.lower() in {"pdf", "doc", "docx", "txt", "csv", "xls", "xlsx", "ppt", "pptx"}:
        return "DOCUMENT"
    return "OTHER"


def file_json(file: SandboxFile) -> dict:
    path = f"{file.folder_path.rstrip('/')}/{file.name}" if file.folder_path else f"/{file.name}"
    return _compact(
        {
            "id": str(file.pk),
            "createdAt": iso(file.created_at),
            "updatedAt": iso(file.updated_at),
            "archived": False,
            "access": file.access,
            "name": file.name.rsplit(".", 1)[0] if file.extension else file.name,
            "extension": file.extension or None,
            "path": path,
            "size": file.size,
            "type": file_type(file.extension, file.content_type),
            "encoding": file.extension or None,
            "url": file_url(file),
            "defaultHostingUrl": file_url(file),
            "isUsableInContent": True,
            "sourceGroup": "CONVERSATIONS",
        }
    )


def default_usage_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return {"image": "IMAGE", "audio": "AUDIO"}.get(major, "OTHER")


def attachment_json(attachment: dict, files: dict[str, SandboxFile]) -> dict:
    """A stored attachment as a PublicAttachment; FILE ones get the required fileUsageType and a URL."""
    if attachment.get("type") != "FILE":
        return attachment
    file = files.get(str(attachment.get("fileId")))
    usage = attachment.get("fileUsageType") or (default_usage_type(file.content_type) if file else "OTHER")
    return _compact(
        {
            "type": "FILE",
            "fileId": str(attachment.get("fileId")),
            "fileUsageType": usage,
            "name": file.name if file else attachment.get("name") or None,
            "url": file_url(file) if file else attachment.get("url") or None,
        }
    )


def _files_for(attachments: list[dict]) -> dict[str, SandboxFile]:
    ids = [a.get("fileId") for a in attachments if a.get("type") == "FILE"]
    ids = [int(i) for i in ids if str(i).isdigit()]
    if not ids:
        return {}
    return {str(f.pk): f for f in SandboxFile.objects.filter(pk__in=ids)}


# Conversations ----------------------------------------------------------------------------------


def message_json(message: SandboxMessage) -> dict:
    """A PublicConversationsMessage (type MESSAGE), or the thread-event shape for other types."""
    thread = message.thread
    client: dict = {"clientType": message.client_type}
    if message.client_type == "INTEGRATION":
        client["integrationAppId"] = thread.channel.app.app_id
    data: dict = {
        "id": message.message_id,
        "type": message.type,
        "archived": False,
        "conversationsThreadId": str(thread.pk),
        "client": client,
        "createdAt": iso(message.created_at),
        "updatedAt": iso(message.updated_at) if message.updated_at else None,
        "createdBy": message.created_by,
        "senders": list(message.senders),
        "recipients": list(message.recipients),
    }
    if message.type == "MESSAGE":
        files = _files_for(message.attachments)
        data |= {
            "text": message.text,
            "richText": message.rich_text or None,
            "attachments": [attachment_json(a, files) for a in message.attachments],
            "channelId": str(thread.channel_id),
            "channelAccountId": str(thread.channel_account_id),
            "direction": message.direction,
            "truncationStatus": "NOT_TRUNCATED",
            "inReplyToId": message.in_reply_to_id or None,
            "status": _status_json(message),
        }
    elif message.type == "COMMENT":
        files = _files_for(message.attachments)
        data |= {
            "text": message.text,
            # Required in HubSpot's COMMENT model: the plain text as HTML when none was sent.
            "richText": message.rich_text or f"<p>{escape(message.text)}</p>",
            "attachments": [attachment_json(a, files) for a in message.attachments],
        }
    data |= message.extra
    return _compact(data)


def _status_json(message: SandboxMessage) -> dict | None:
    if not message.status_type:
        return None
    status: dict = {"statusType": message.status_type}
    if message.status_type == "FAILED":
        status["failureDetails"] = _compact(
            {"errorMessageTokens": {}, "errorMessage": message.error_message or None}
        )
    return status


def thread_json(thread: SandboxThread) -> dict:
    """A PublicThread (contract §6.2)."""
    latest_in = thread.messages.filter(direction="INCOMING").order_by("-created_at").first()
    latest_out = thread.messages.filter(direction="OUTGOING").order_by("-created_at").first()
    return _compact(
        {
            "id": str(thread.pk),
            "inboxId": str(thread.inbox.inbox_id),
            "status": thread.status,
            "spam": thread.spam,
            "archived": thread.archived,
            "createdAt": iso(thread.created_at),
            "associatedContactId": associated_contact_id(thread),
            "originalChannelId": str(thread.channel_id),
            "originalChannelAccountId": str(thread.channel_account_id),
            "assignedTo": thread.assigned_to or None,
            "closedAt": iso(thread.closed_at) if thread.closed_at else None,
            "latestMessageTimestamp": iso(thread.latest_message_at) if thread.latest_message_at else None,
            "latestMessageSentTimestamp": iso(latest_out.created_at) if latest_out else None,
            "latestMessageReceivedTimestamp": iso(latest_in.created_at) if latest_in else None,
        }
    )


def associated_contact_id(thread: SandboxThread) -> str:
    """The CRM contact id, or the bare visitor number when no contact matched the sender."""
    if thread.contact_id:
        return str(thread.contact_id)
    return thread.visitor_actor_id.removeprefix("V-")


def actor_json(actor: SandboxActor) -> dict:
    """A PublicActor; INTEGRATOR requires a name, the others carry only what is known."""
    data = {"id": actor.actor_id, "type": actor.type}
    if actor.type == SandboxActor.Type.SYSTEM:
        return data
    if actor.type == SandboxActor.Type.INTEGRATOR:
        return data | {"name": actor.name or actor.actor_id}
    data |= _compact({"name": actor.name or None})
    if actor.type in (SandboxActor.Type.AGENT, SandboxActor.Type.VISITOR):
        data |= _compact({"email": actor.email or None})
    return data


def inbox_json(inbox: SandboxInbox) -> dict:
    return {
        "id": str(inbox.inbox_id),
        "name": inbox.name,
        "type": inbox.type,
        "archived": inbox.archived,
        "createdAt": iso(inbox.created_at),
        "updatedAt": iso(inbox.updated_at),
    }


# Custom channels --------------------------------------------------------------------------------


def channel_json(channel: SandboxChannel) -> dict:
    """A PublicChannelIntegrationChannel."""
    return _compact(
        {
            "id": str(channel.pk),
            "name": channel.name,
            "capabilities": channel.capabilities,
            "createdAt": iso(channel.created_at),
            "webhookUrl": channel.webhook_url or None,
            "channelAccountConnectionRedirectUrl": channel.channel_account_connection_redirect_url or None,
            "channelDescription": channel.channel_description or None,
            "channelLogoUrl": channel.channel_logo_url or None,
        }
    )


def channel_account_json(account: SandboxChannelAccount) -> dict:
    """A PublicChannelAccount."""
    data = {
        "id": str(account.pk),
        "channelId": str(account.channel_id),
        "inboxId": str(account.inbox.inbox_id),
        "name": account.name,
        "active": account.active,
        "archived": account.archived,
        "authorized": account.authorized,
        "createdAt": iso(account.created_at),
    }
    if account.archived_at:
        data["archivedAt"] = iso(account.archived_at)
    if account.delivery_identifier_type:
        data["deliveryIdentifier"] = {
            "type": account.delivery_identifier_type,
            "value": account.delivery_identifier_value,
        }
    return data


# CRM --------------------------------------------------------------------------------------------

CONTACT_PROPERTIES = ("email", "phone", "mobilephone", "firstname", "lastname")
DEFAULT_CONTACT_PROPERTIES = ("email", "firstname", "lastname")


def contact_properties(contact: SandboxContact) -> dict[str, str]:
    """Every property the sandbox knows, as strings; empty values are left out (contract §7.2)."""
    values = {name: getattr(contact, name) for name in CONTACT_PROPERTIES}
    values |= {
        "hs_object_id": str(contact.pk),
        "createdate": iso(contact.created_at),
        "lastmodifieddate": iso(contact.updated_at),
        # HubSpot's calculated phone properties, searchable with EQ whatever format was typed.
        "hs_searchable_calculated_phone_number": searchable_phone(contact.phone),
        "hs_searchable_calculated_mobile_number": searchable_phone(contact.mobilephone),
    }
    return {k: v for k, v in values.items() if v}


def contact_json(contact: SandboxContact, properties: list[str] | None = None) -> dict:
    """A SimplePublicObject. HubSpot answers requested properties plus the three it always adds."""
    wanted = set(properties or DEFAULT_CONTACT_PROPERTIES) | {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    }
    props = {k: v for k, v in contact_properties(contact).items() if k in wanted}
    data = {
        "id": str(contact.pk),
        "properties": props,
        "createdAt": iso(contact.created_at),
        "updatedAt": iso(contact.updated_at),
        "archived": contact.archived,
    }
    return data
