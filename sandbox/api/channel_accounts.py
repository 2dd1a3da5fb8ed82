"""Channel accounts: a custom channel connected to one inbox of the calling portal (Bearer), §5.2.

Also the inbox API's read-only view of every channel account in the portal
(`/conversations/v3/conversations/channel-accounts`, §6.1).
"""

from __future__ import annotations

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, json_body, ok, route
from sandbox.api.errors import ApiError, not_found, validation_error
from sandbox.api.params import flag, ints, list_page, multi
from sandbox.api.validation import (
    DELIVERY_IDENTIFIER_TYPES,
    boolean,
    delivery_identifier,
    integer_id,
    one_of,
    require,
    string,
)
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxInbox
from sandbox.serializers import channel_account_json

READ = ("conversations.custom_channels.read",)
WRITE = ("conversations.custom_channels.write",)
INBOX_READ = ("conversations.read",)


def token_channel(request, channel_id: int) -> SandboxChannel:
    """The channel, if it belongs to the app the access token was issued to."""
    channel = SandboxChannel.objects.filter(pk=channel_id, app=request.caller.app, archived=False).first()
    if channel is None:
        raise not_found(f"Channel {channel_id} not found", channelId=channel_id)
    return channel


def portal_account(request, channel: SandboxChannel, account_id, *, archived: bool = False):
    """The channel account, if it is on this channel and in the token's portal; 404 otherwise,
    so one portal cannot even learn that another portal's account exists."""
    accounts = SandboxChannelAccount.objects.select_related("inbox", "channel__app").filter(
        channel=channel, portal=request.caller.portal
    )
    if not archived:
        accounts = accounts.filter(archived=False)
    account = accounts.filter(pk=account_id).first()
    if account is None:
        raise not_found(f"Channel account {account_id} not found", channelAccountId=account_id)
    return account


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def create_account(request, channel_id: int):
    channel = token_channel(request, channel_id)
    data = json_body(request)
    require(data, "PublicChannelAccountEgg", "name", "inboxId", "authorized")
    name = string(data, "name", allow_empty=False)
    authorized = boolean(data, "authorized")
    inbox_id = integer_id(data["inboxId"], "inboxId")
    inbox = SandboxInbox.objects.filter(
        inbox_id=inbox_id, portal=request.caller.portal, archived=False
    ).first()
    if inbox is None:
        raise validation_error(f"Inbox {inbox_id} does not exist in this account", field="inboxId")
    identifier = None
    if data.get("deliveryIdentifier") is not None:
        identifier = delivery_identifier(data["deliveryIdentifier"], "deliveryIdentifier")
        declared = (channel.capabilities or {}).get("deliveryIdentifierTypes") or []
        if identifier["type"] not in declared:
            # HubSpot validates an account's identifier against what its channel declared.
            raise validation_error(
                f"Delivery identifier type {identifier['type']} is not one of channel {channel.pk}'s "
                f"deliveryIdentifierTypes ({', '.join(declared) or 'none declared'})",
                field="deliveryIdentifier.type",
            )
        taken = SandboxChannelAccount.objects.filter(
            channel=channel,
            portal=request.caller.portal,
            archived=False,
            delivery_identifier_type=identifier["type"],
            delivery_identifier_value=identifier["value"],
        )
        if taken.exists():
            # "Multiple accounts can communicate over a single channel using different delivery
            # identifiers": the same one twice would make the recipient ambiguous.
            raise ApiError(
                409,
                f"A channel account with delivery identifier {identifier['value']} already exists "
                f"on channel {channel.pk}",
                "CONFLICT",
            )
    account = SandboxChannelAccount.objects.create(
        channel=channel,
        portal=request.caller.portal,
        inbox=inbox,
        name=name,
        authorized=authorized,
        delivery_identifier_type=identifier["type"] if identifier else "",
        delivery_identifier_value=identifier["value"] if identifier else "",
    )
    return ok(channel_account_json(account), status=201, Location=f"{request.path.rstrip('/')}/{account.pk}")


def _filtered(request, accounts):
    for kind in multi(request, "deliveryIdentifierType"):
        one_of(kind, DELIVERY_IDENTIFIER_TYPES, "deliveryIdentifierType", "DeliveryIdentifierType")
    types = multi(request, "deliveryIdentifierType")
    values = multi(request, "deliveryIdentifierValue")
    if types:
        accounts = accounts.filter(delivery_identifier_type__in=types)
    if values:
        accounts = accounts.filter(delivery_identifier_value__in=values)
    if not flag(request, "archived"):
        accounts = accounts.filter(archived=False)
    sort = request.GET.get("sort", "")
    return accounts.order_by("-id" if sort.startswith("-") else "id")


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def list_accounts(request, channel_id: int):
    channel = token_channel(request, channel_id)
    accounts = SandboxChannelAccount.objects.select_related("inbox").filter(
        channel=channel, portal=request.caller.portal
    )
    return ok(list_page(request, _filtered(request, accounts), channel_account_json))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_account(request, channel_id: int, account_id: int):
    channel = token_channel(request, channel_id)
    account = portal_account(request, channel, account_id, archived=flag(request, "archived"))
    return ok(channel_account_json(account))


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def update_account(request, channel_id: int, account_id: int):
    channel = token_channel(request, channel_id)
    account = portal_account(request, channel, account_id)
    data = json_body(request)
    if "name" in data:
        account.name = string(data, "name", allow_empty=False)
    if "authorized" in data:
        # authorized=false disables the account: HubSpot stops sending it messages.
        account.authorized = bool(boolean(data, "authorized"))
    account.save()
    return ok(channel_account_json(account))


# Inbox API view (all channels of the portal) ----------------------------------------------------


@endpoint(auth_kind=auth.BEARER, scopes=INBOX_READ)
def inbox_list_accounts(request):
    accounts = SandboxChannelAccount.objects.select_related("inbox").filter(portal=request.caller.portal)
    channel_ids = ints(request, "channelId")
    inbox_ids = ints(request, "inboxId")
    if channel_ids:
        accounts = accounts.filter(channel_id__in=channel_ids)
    if inbox_ids:
        accounts = accounts.filter(inbox__inbox_id__in=inbox_ids)
    return ok(list_page(request, _filtered(request, accounts), channel_account_json))


@endpoint(auth_kind=auth.BEARER, scopes=INBOX_READ)
def inbox_get_account(request, account_id: int):
    accounts = SandboxChannelAccount.objects.select_related("inbox").filter(portal=request.caller.portal)
    if not flag(request, "archived"):
        accounts = accounts.filter(archived=False)
    account = accounts.filter(pk=account_id).first()
    if account is None:
        raise not_found(f"Channel account {account_id} not found", channelAccountId=account_id)
    return ok(channel_account_json(account))


collection = route(GET=list_accounts, POST=create_account)
item = route(GET=get_account, PATCH=update_account)
inbox_collection = route(GET=inbox_list_accounts)
inbox_item = route(GET=inbox_get_account)
