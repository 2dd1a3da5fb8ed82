"""Custom channels (developer API key) and their channel accounts (portal Bearer token).

Bodies are HubSpot's camelCase models `PublicChannelIntegrationChannelCreate/Patch` and
`PublicChannelAccountEgg/UpdateRequest` (contract §5.1 to §5.2); answers are returned as HubSpot's
JSON (`PublicChannelIntegrationChannel`, `PublicChannelAccount`). Optional fields left as None are
not sent at all, so a PATCH only touches what the caller names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from connections.hubspot.paging import Page, iterate

DELIVERY_IDENTIFIER_TYPES = (
    "HS_EMAIL_ADDRESS",
    "HS_PHONE_NUMBER",
    "HS_SHORT_CODE",
    "CHANNEL_SPECIFIC_OPAQUE_ID",
)


OPAQUE_ID = "CHANNEL_SPECIFIC_OPAQUE_ID"


def account_identifier(app_id: int | str, portal_id: int | str, inbox_id: int | str) -> dict[str, str]:
    """The CHANNEL_SPECIFIC_OPAQUE_ID our channel account in one inbox is created with.

    Derived, so every run (and every worker) names the same account without storing anything
    first; stable across reinstalls, so a registration rerun finds the account it made; and not a
    secret (HubSpot shows it to agents as the channel's side of the thread). HubSpot lets several
    accounts share a channel as long as their delivery identifiers differ: app, portal and inbox
    together make ours unique.
    """
    return delivery_identifier(OPAQUE_ID, f"hitl-{app_id}-{portal_id}-{inbox_id}")


def delivery_identifier(type_: str, value: str) -> dict[str, str]:
    """`PublicDeliveryIdentifier`: an E.164 phone, an email address or a channel-specific id."""
    if type_ not in DELIVERY_IDENTIFIER_TYPES:
        raise ValueError(
            f"unknown delivery identifier type {type_!r}; expected one of {DELIVERY_IDENTIFIER_TYPES}"
        )
    if not value:
        raise ValueError("a delivery identifier needs a value")
    return {"type": type_, "value": str(value)}


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


_CHANNEL_FIELDS = {
    "name": "name",
    "capabilities": "capabilities",
    "webhook_url": "webhookUrl",
    "channel_account_connection_redirect_url": "channelAccountConnectionRedirectUrl",
    "channel_description": "channelDescription",
    "channel_logo_url": "channelLogoUrl",
}


class CustomChannelsAPI:
    """Channel-level calls, authenticated with the app's developer API key plus `appId` (§5.0)."""

    app_id: int

    def _app_query(self, **params) -> dict[str, Any]:
        # The v3 guide registers with ?hapikey=…&appId=…; the 2026-03 API ignores an extra appId.
        return {"appId": self.app_id, **params}

    def create_channel(
        self,
        name: str,
        capabilities: dict[str, Any],
        *,
        webhook_url: str | None = None,
        channel_account_connection_redirect_url: str | None = None,
        channel_description: str | None = None,
        channel_logo_url: str | None = None,
    ) -> dict[str, Any]:
        body = _without_none(
            {
                "name": name,
                "capabilities": capabilities,
                "webhookUrl": webhook_url,
                "channelAccountConnectionRedirectUrl": channel_account_connection_redirect_url,
                "channelDescription": channel_description,
                "channelLogoUrl": channel_logo_url,
            }
        )
        return self._call("channels.create", params=self._app_query(), json=body)

    def list_channels(self, *, after: str | None = None, limit: int | None = None) -> Page:
        body = self._call("channels.list", params=self._app_query(after=after, limit=limit))
        return Page.from_body(body, "channels.list")

    def iter_channels(self, *, limit: int = 100) -> Iterator[dict[str, Any]]:
        return iterate(lambda after: self.list_channels(after=after, limit=limit))

    def get_channel(self, channel_id: int | str) -> dict[str, Any]:
        return self._call("channels.get", path_params={"channelId": channel_id}, params=self._app_query())

    def update_channel(self, channel_id: int | str, **fields: Any) -> dict[str, Any]:
        """PATCH the named fields only: name, capabilities, webhook_url,
        channel_account_connection_redirect_url, channel_description, channel_logo_url."""
        unknown = set(fields) - set(_CHANNEL_FIELDS)
        if unknown:
            raise TypeError(f"update_channel() got unknown fields {sorted(unknown)}")
        body = {_CHANNEL_FIELDS[k]: v for k, v in fields.items() if v is not None}
        return self._call(
            "channels.update", path_params={"channelId": channel_id}, params=self._app_query(), json=body
        )

    def delete_channel(self, channel_id: int | str) -> None:
        self._call("channels.delete", path_params={"channelId": channel_id}, params=self._app_query())


class ChannelAccountsAPI:
    """A channel connected to one inbox of the portal (Bearer, scope conversations.custom_channels.*)."""

    def create_channel_account(
        self,
        channel_id: int | str,
        *,
        name: str,
        inbox_id: int | str,
        authorized: bool = True,
        delivery_identifier: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "inboxId": str(inbox_id), "authorized": authorized}
        if delivery_identifier is not None:
            body["deliveryIdentifier"] = delivery_identifier
        return self._call("channel_accounts.create", path_params={"channelId": channel_id}, json=body)

    def list_channel_accounts(
        self,
        channel_id: int | str,
        *,
        after: str | None = None,
        limit: int | None = None,
        archived: bool | None = None,
        delivery_identifier_types: Iterable[str] | None = None,
        delivery_identifier_values: Iterable[str] | None = None,
    ) -> Page:
        params = {
            "after": after,
            "limit": limit,
            "archived": archived,
            "deliveryIdentifierType": list(delivery_identifier_types) if delivery_identifier_types else None,
            "deliveryIdentifierValue": list(delivery_identifier_values)
            if delivery_identifier_values
            else None,
        }
        body = self._call("channel_accounts.list", path_params={"channelId": channel_id}, params=params)
        return Page.from_body(body, "channel_accounts.list")

    def iter_channel_accounts(self, channel_id: int | str, *, limit: int = 100, **filters) -> Iterator[dict]:
        return iterate(
            lambda after: self.list_channel_accounts(channel_id, after=after, limit=limit, **filters)
        )

    def get_channel_account(
        self, channel_id: int | str, channel_account_id: int | str, *, archived: bool | None = None
    ) -> dict[str, Any]:
        return self._call(
            "channel_accounts.get",
            path_params={"channelId": channel_id, "channelAccountId": channel_account_id},
            params={"archived": archived},
        )

    def update_channel_account(
        self,
        channel_id: int | str,
        channel_account_id: int | str,
        *,
        name: str | None = None,
        authorized: bool | None = None,
    ) -> dict[str, Any]:
        """Rename, or set `authorized=False` to disable the account (contract §5.2)."""
        return self._call(
            "channel_accounts.update",
            path_params={"channelId": channel_id, "channelAccountId": channel_account_id},
            json=_without_none({"name": name, "authorized": authorized}),
        )
