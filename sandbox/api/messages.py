"""Publishing messages into a custom channel, reading them and reporting delivery status (§5.3)."""

from __future__ import annotations

from sandbox import domain
from sandbox.api import auth
from sandbox.api.channel_accounts import READ, WRITE, portal_account, token_channel
from sandbox.api.endpoint import endpoint, json_body, ok, route
from sandbox.api.errors import ApiError, not_found, validation_error
from sandbox.api.params import parse_timestamp
from sandbox.api.validation import delivery_identifier, integer_id, one_of, require, string
from sandbox.models import SandboxContact, SandboxFile, SandboxMessage
from sandbox.serializers import message_json

EGG = "ChannelIntegrationMessageEgg"
DIRECTIONS = ("INCOMING", "OUTGOING")
STATUS_UPDATES = ("SENT", "FAILED", "READ")
FILE_USAGE = ("AUDIO", "IMAGE", "OTHER", "STICKER", "VOICE_RECORDING")
ATTACHMENT_TYPES = (
    "FILE",
    "LOCATION",
    "CONTACT",
    "UNSUPPORTED_CONTENT",
    "MESSAGE_HEADER",
    "QUICK_REPLIES",
    "SOCIAL_MEDIA_METADATA",
)


def _participants(data: dict, name: str) -> list[dict]:
    items = data[name]
    if not isinstance(items, list):
        raise validation_error(f"{name} must be a list", field=name)
    result = []
    for index, item in enumerate(items):
        where = f"{name}[{index}]"
        if not isinstance(item, dict) or item.get("deliveryIdentifier") is None:
            raise validation_error(
                f"{where}.deliveryIdentifier is required", field=f"{where}.deliveryIdentifier"
            )
        participant = {"deliveryIdentifier": delivery_identifier(item["deliveryIdentifier"], where)}
        for key in ("name", "senderActorId"):
            if item.get(key) is not None:
                participant[key] = string(item, key)
        result.append(participant)
    return result


def _attachments(data: dict, portal) -> list[dict]:
    items = data["attachments"]
    if not isinstance(items, list):
        raise validation_error("attachments must be a list", field="attachments")
    result = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if not isinstance(item, dict):
            raise validation_error(f"{where} must be an object", field=where)
        one_of(item.get("type"), ATTACHMENT_TYPES, f"{where}.type", "AttachmentType")
        attachment = dict(item)
        if item["type"] == "FILE":
            if item.get("fileId") in (None, ""):
                raise validation_error(f"{where}.fileId is required", field=f"{where}.fileId")
            file_id = integer_id(item["fileId"], f"{where}.fileId")
            if not SandboxFile.objects.filter(pk=file_id, portal=portal).exists():
                raise validation_error(f"File {file_id} does not exist", field=f"{where}.fileId")
            attachment["fileId"] = str(file_id)
            if item.get("fileUsageType") is not None:
                one_of(item["fileUsageType"], FILE_USAGE, f"{where}.fileUsageType", "FileUsageType")
        elif item["type"] == "QUICK_REPLIES":
            # The response model requires these two flags; the request model does not send them.
            attachment.setdefault("allowMultiSelect", False)
            attachment.setdefault("allowUserInput", False)
        result.append(attachment)
    return result


def _check_identifier_types(channel, participants: list[dict], field: str) -> None:
    allowed = (channel.capabilities or {}).get("deliveryIdentifierTypes")
    if not allowed:
        return
    for index, participant in enumerate(participants):
        kind = participant["deliveryIdentifier"]["type"]
        if kind not in allowed:
            raise validation_error(
                f"Delivery identifier type {kind} is not supported by channel {channel.pk} "
                f"(deliveryIdentifierTypes: {', '.join(allowed)})",
                field=f"{field}[{index}].deliveryIdentifier.type",
            )


def _check_account_side(account, participants: list[dict], direction: str) -> None:
    """The integration's side of a message (recipients of an INCOMING one, senders of an OUTGOING
    one) is the channel account, named by its delivery identifier: HubSpot routes by it, so an
    account without one, or a participant naming anything else, is refused."""
    field = "recipients" if direction == "INCOMING" else "senders"
    if not account.delivery_identifier_type:
        raise validation_error(
            f"Channel account {account.pk} has no delivery identifier; create an account with a "
            "deliveryIdentifier to publish through it",
            field="channelAccountId",
        )
    own = {"type": account.delivery_identifier_type, "value": account.delivery_identifier_value}
    if not participants:
        raise validation_error(
            f"{field} must name channel account {account.pk} by its delivery identifier", field=field
        )
    for index, item in enumerate(participants):
        if item["deliveryIdentifier"] != own:
            raise validation_error(
                f"{field}[{index}].deliveryIdentifier is not a delivery identifier of channel account "
                f"{account.pk}",
                field=f"{field}[{index}].deliveryIdentifier",
            )


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def publish(request, channel_id: int):
    channel = token_channel(request, channel_id)
    data = json_body(request)
    require(
        data,
        EGG,
        "channelAccountId",
        "messageDirection",
        "text",
        "timestamp",
        "attachments",
        "senders",
        "recipients",
    )
    direction = one_of(data["messageDirection"], DIRECTIONS, "messageDirection", "MessageDirection")
    text = string(data, "text")
    timestamp = parse_timestamp(data["timestamp"], "timestamp")
    senders = _participants(data, "senders")
    recipients = _participants(data, "recipients")
    visitor_side, visitor_field = (
        (senders, "senders") if direction == "INCOMING" else (recipients, "recipients")
    )
    if not visitor_side:
        raise validation_error(
            f"{visitor_field} must name the visitor for an {direction} message", field=visitor_field
        )
    _check_identifier_types(channel, visitor_side, visitor_field)

    account_id = integer_id(data["channelAccountId"], "channelAccountId")
    account = portal_account(request, channel, account_id)
    _check_account_side(account, recipients if direction == "INCOMING" else senders, direction)
    if not account.authorized:
        raise ApiError(
            400,
            f"Channel account {account_id} is not authorized",
            "VALIDATION_ERROR",
            errors=[{"message": "channel account is not authorized", "in": "channelAccountId"}],
        )
    integration_thread_id = string(data, "integrationThreadId") or ""
    if domain.threading_model(channel) == domain.THREADING_INTEGRATION and not integration_thread_id:
        raise validation_error(
            "integrationThreadId is required when the channel's threadingModel is INTEGRATION_THREAD_ID",
            field="integrationThreadId",
        )
    contact_id = data.get("associateWithContactId")
    contact = None
    if contact_id is not None:
        contact_id = integer_id(contact_id, "associateWithContactId")
        contact = SandboxContact.objects.filter(pk=contact_id, portal=request.caller.portal).first()
        if contact is None:
            raise validation_error(f"Contact {contact_id} does not exist", field="associateWithContactId")

    message, created = domain.publish_message(
        channel,
        account,
        direction=direction,
        text=text,
        rich_text=string(data, "richText") or "",
        attachments=_attachments(data, request.caller.portal),
        senders=senders,
        recipients=recipients,
        integration_thread_id=integration_thread_id,
        idempotency_id=string(data, "integrationIdempotencyId") or "",
        in_reply_to_id=string(data, "inReplyToId") or "",
        timestamp=timestamp,
        contact=contact,
    )
    location = f"{request.path.rstrip('/')}/{message.message_id}"
    # A replay answers 200 with the original message: the publish happened once, earlier.
    return ok(message_json(message), status=201 if created else 200, Location=location)


def channel_message(request, channel, message_id: str) -> SandboxMessage:
    message = (
        SandboxMessage.objects.select_related("thread__channel__app", "thread__portal")
        .filter(message_id=message_id, thread__channel=channel, thread__portal=request.caller.portal)
        .first()
    )
    if message is None:
        raise not_found(f"Message {message_id} not found", messageId=message_id)
    return message


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_message(request, channel_id: int, message_id: str):
    channel = token_channel(request, channel_id)
    return ok(message_json(channel_message(request, channel, message_id)))


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def update_message(request, channel_id: int, message_id: str):
    channel = token_channel(request, channel_id)
    message = channel_message(request, channel, message_id)
    data = json_body(request)
    require(data, "PublicChannelIntegrationMessageUpdateRequest", "statusType")
    status_type = one_of(data["statusType"], STATUS_UPDATES, "statusType", "StatusType")
    domain.update_message_status(message, status_type, string(data, "errorMessage") or "")
    return ok(message_json(message))


collection = route(POST=publish)
item = route(GET=get_message, PATCH=update_message)
