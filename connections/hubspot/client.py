"""The two API clients: one per connected portal (Bearer) and one per app (developer API key).

    client = HubSpotClient.for_connection(connection)
    message = client.publish_message(channel_id, channel_account_id=..., ..., integration_idempotency_id=...)

    dev = HubSpotDeveloperClient.for_app(app)
    channel = dev.create_channel("Chatbot", capabilities={...}, webhook_url=...)

Both are cheap to build (build one per task); the HTTP session underneath is shared per process.
Resources come back as HubSpot's own JSON (camelCase dicts, as in docs/hubspot-contract.md), lists
as `paging.Page`, and failures as `errors.HubSpotError` subclasses. OAuth lives in oauth.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connections.hubspot import ratelimit
from connections.hubspot.channels import ChannelAccountsAPI, CustomChannelsAPI
from connections.hubspot.conversations import InboxAPI, MessagesAPI
from connections.hubspot.crm import ContactsAPI
from connections.hubspot.files import FilesAPI
from connections.hubspot.transport import Auth, BearerAuth, DeveloperKeyAuth, Transport
from connections.hubspot.webhooks_api import WebhooksAPI


class _BaseClient:
    def __init__(self, auth: Auth, *, transport: Transport | None = None, limiters: Iterable = ()):
        self.auth = auth
        self.transport = transport or Transport()
        self.limiters = tuple(limiters)

    def _call(self, operation: str, *, limiters: Iterable = (), **kwargs) -> Any:
        return self.transport.request(
            operation, auth=self.auth, limiters=(*self.limiters, *limiters), **kwargs
        )

    def _search_limiters(self) -> tuple:
        return ()


class HubSpotClient(ChannelAccountsAPI, MessagesAPI, InboxAPI, ContactsAPI, FilesAPI, _BaseClient):
    """Calls on behalf of one connected portal, with its OAuth access token (refreshed as needed)
    and within its per-portal rate limit."""

    def __init__(
        self,
        connection_id: int,
        *,
        app_id: int | str,
        portal_id: int | str | None,
        transport: Transport | None = None,
        limiter: ratelimit.SlidingWindowLimiter | None = None,
        search_limiter: ratelimit.SlidingWindowLimiter | None = None,
        token_getter=None,
    ):
        self.connection_id = connection_id
        self.app_id = app_id
        self.portal_id = portal_id
        # Before the portal id is known (first call after consent), the connection stands in.
        key = portal_id if portal_id is not None else f"connection-{connection_id}"
        super().__init__(
            BearerAuth(connection_id, token_getter=token_getter),
            transport=transport,
            limiters=(limiter or ratelimit.portal_limiter(app_id, key),),
        )
        self._search_limiter = search_limiter or ratelimit.search_limiter(app_id, key)

    @classmethod
    def for_connection(cls, connection, **options) -> HubSpotClient:
        return cls(connection.pk, app_id=connection.app.app_id, portal_id=connection.portal_id, **options)

    def _search_limiters(self) -> tuple:
        return (self._search_limiter,)


class HubSpotDeveloperClient(CustomChannelsAPI, WebhooksAPI, _BaseClient):
    """Calls on behalf of an app's developer account: custom channels and webhook subscriptions."""

    def __init__(
        self,
        app_id: int,
        developer_api_key: str,
        *,
        transport: Transport | None = None,
        limiter: ratelimit.SlidingWindowLimiter | None = None,
    ):
        self.app_id = app_id
        super().__init__(
            DeveloperKeyAuth(developer_api_key),
            transport=transport,
            limiters=(limiter or ratelimit.developer_limiter(app_id),),
        )

    @classmethod
    def for_app(cls, app, **options) -> HubSpotDeveloperClient:
        return cls(app.app_id, app.developer_api_key, **options)
