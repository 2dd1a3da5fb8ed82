"""Custom channels, the app-level resource (developer API key), contract §5.1."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, json_body, no_content, ok, route
from sandbox.api.errors import not_found
from sandbox.api.params import list_page
from sandbox.api.validation import capabilities, require, string, url
from sandbox.models import SandboxBehaviour, SandboxChannel
from sandbox.serializers import channel_json

OPTIONAL_FIELDS = {
    # JSON key -> model field
    "webhookUrl": "webhook_url",
    "channelAccountConnectionRedirectUrl": "channel_account_connection_redirect_url",
    "channelDescription": "channel_description",
    "channelLogoUrl": "channel_logo_url",
}
URL_FIELDS = {"webhookUrl", "channelAccountConnectionRedirectUrl", "channelLogoUrl"}


def app_channel(request, channel_id: int) -> SandboxChannel:
    channel = SandboxChannel.objects.filter(pk=channel_id, app=request.caller.app, archived=False).first()
    if channel is None:
        raise not_found(f"Channel {channel_id} not found", channelId=channel_id)
    return channel


def _optional_values(data: dict) -> dict:
    values = {}
    for key, field in OPTIONAL_FIELDS.items():
        if key in data:
            value = url(data, key) if key in URL_FIELDS else string(data, key)
            values[field] = value or ""
    return values


@endpoint(auth_kind=auth.HAPIKEY)
def create_channel(request):
    data = json_body(request)
    require(data, "PublicChannelIntegrationChannelCreate", "name", "capabilities")
    name = string(data, "name", allow_empty=False)
    delay = SandboxBehaviour.current().channel_list_delay_seconds
    channel = SandboxChannel.objects.create(
        app=request.caller.app,
        name=name,
        capabilities=capabilities(data["capabilities"]),
        # Realism: HubSpot's list is eventually consistent; a fresh channel shows up late.
        listed_after=timezone.now() + timedelta(seconds=delay) if delay else None,
        **_optional_values(data),
    )
    return ok(channel_json(channel), status=201, Location=f"{request.path.rstrip('/')}/{channel.pk}")


@endpoint(auth_kind=auth.HAPIKEY)
def list_channels(request):
    channels = SandboxChannel.objects.filter(app=request.caller.app, archived=False).filter(
        Q(listed_after__isnull=True) | Q(listed_after__lte=timezone.now())
    )
    sort = request.GET.get("sort", "")
    channels = channels.order_by("-id" if sort.startswith("-") else "id")
    return ok(list_page(request, channels, channel_json))


@endpoint(auth_kind=auth.HAPIKEY)
def get_channel(request, channel_id: int):
    return ok(channel_json(app_channel(request, channel_id)))


@endpoint(auth_kind=auth.HAPIKEY)
def update_channel(request, channel_id: int):
    channel = app_channel(request, channel_id)
    data = json_body(request)
    values = _optional_values(data)
    if "name" in data:
        values["name"] = string(data, "name", allow_empty=False)
    if "capabilities" in data:
        values["capabilities"] = capabilities(data["capabilities"])
    for field, value in values.items():
        setattr(channel, field, value)
    channel.save()
    return ok(channel_json(channel))


@endpoint(auth_kind=auth.HAPIKEY)
def delete_channel(request, channel_id: int):
    channel = app_channel(request, channel_id)
    channel.archived = True
    channel.save(update_fields=["archived"])
    return no_content()


collection = route(GET=list_channels, POST=create_channel)
item = route(GET=get_channel, PATCH=update_channel, DELETE=delete_channel)
