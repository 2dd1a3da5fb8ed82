"""Helpers of the connection-service tests: connect a portal, give OAuth consent, read what the
sandbox holds."""

import datetime as dt
import time

from django.urls import reverse
from django.utils import timezone

from connections import consent
from connections.models import ChannelRegistration, Connection, ConnectionStatus
from sandbox.models import SandboxApp, SandboxAuthCode, SandboxChannel, SandboxChannelAccount


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


def approve(consent_hubspot, scopes=consent.REQUIRED_SCOPES, portal=None) -> str:
    """What HubSpot's consent page does when the person approves: an authorization code."""
    sandbox_portal, sandbox_app = consent_hubspot
    code = SandboxAuthCode.objects.create(
        code=f"code-{time.monotonic_ns()}",
        app=sandbox_app,
        portal=portal or sandbox_portal,
        scopes=list(scopes),
        redirect_uri=consent.redirect_uri(),
        user_email="owner@acme.test",
        expires_at=timezone.now() + dt.timedelta(minutes=10),
    )
    return code.code


def callback(client, **params):
    """HubSpot sending the browser back to our OAuth callback."""
    return client.get(reverse("connections:oauth-callback"), params, follow=True)
