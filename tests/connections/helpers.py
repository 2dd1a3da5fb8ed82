"""Helpers of the connection-service tests: connect a portal, read what the sandbox holds."""

from connections.models import ChannelRegistration, Connection, ConnectionStatus
from sandbox.models import SandboxApp, SandboxChannel, SandboxChannelAccount


def connect(tenant, app, *, portal_id, refresh_token, name="") -> Connection:
    """A connection as consent leaves it, except that it holds only the refresh token."""
    connection = Connection.objects.create(
        tenant=tenant,
        app=app,
        name=name,
        portal_id=portal_id,
        refresh_token=refresh_token,
        status=ConnectionStatus.ACTIVE,
        scopes=[],
    )
    ChannelRegistration.objects.create(connection=connection)
    return connection


def sandbox_app(seed) -> SandboxApp:
    return SandboxApp.objects.get(app_id=seed["app_id"])


def live_channels(seed):
    """The app's channels HubSpot holds (not deleted)."""
    return SandboxChannel.objects.filter(app__app_id=seed["app_id"], archived=False)


def accounts_by_inbox(seed) -> dict[int, list[SandboxChannelAccount]]:
    result: dict[int, list] = {}
    accounts = SandboxChannelAccount.objects.filter(channel__app__app_id=seed["app_id"]).select_related(
        "inbox"
    )
    for account in accounts.order_by("id"):
        result.setdefault(account.inbox.inbox_id, []).append(account)
    return result
