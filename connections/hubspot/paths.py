"""Every HubSpot endpoint the portal calls, per API version: the only place a HubSpot path is written.

HubSpot publishes date-versioned endpoints ("2026-03", from hubspot-sdk 0.1.0a9) beside the legacy
ones ("v3", the long-standing API and hubspot-api-client 12). `HUBSPOT_API_VERSION` picks the family
where both exist; the conversations inbox (inboxes, threads, thread messages, actors) is published
only as v3, so those operations always use v3 (docs/hubspot-contract.md §6: "No 2026-03
conversations-inbox paths were found"). Paths follow the contract §4 to §9.

An `Endpoint` also says whether the request may be replayed after an ambiguous failure (a 5xx or a
read timeout), see `transport.py`, and which path parameters are secrets to mask in logs: the v1
OAuth token-info and revoke calls put the token itself into the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.secrets import MASK

VERSIONS = ("2026-03", "v3")


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    #: Safe to send again when the outcome of the first try is unknown (5xx, read timeout).
    #: GET/PUT/PATCH/DELETE are; a POST only when it does not create anything or carries its own
    #: idempotency key. See transport.py for the full rule.
    idempotent: bool | None = None
    #: Path parameters whose values are secrets (masked in logs and errors).
    secret_params: tuple[str, ...] = ()
    #: "api" (HUBSPOT_API_BASE) or "app" (HUBSPOT_APP_BASE, the browser-facing site).
    base: str = "api"

    @property
    def replay_safe(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in {"GET", "HEAD", "PUT", "PATCH", "DELETE"}

    def path(self, **params) -> str:
        return self.template.format(**{k: quote(str(v), safe="") for k, v in params.items()})

    def display_path(self, **params) -> str:
        """The path as logged: secret parameters replaced by the mask."""
        shown = {k: (MASK if k in self.secret_params else v) for k, v in params.items()}
        return self.template.format(**{k: quote(str(v), safe="[]") for k, v in shown.items()})


_CC = "/conversations/custom-channels/2026-03"
_CC3 = "/conversations/v3/custom-channels"
_INBOX3 = "/conversations/v3/conversations"

ENDPOINTS: dict[str, dict[str, Endpoint]] = {
    # OAuth (contract §4). The client always sends form encoding (§0.6).
    "oauth.token": {
        "2026-03": Endpoint("POST", "/oauth/2026-03/token"),
        "v3": Endpoint("POST", "/oauth/v1/token"),
    },
    "oauth.token_info": {
        "2026-03": Endpoint("POST", "/oauth/2026-03/token/introspect", idempotent=True),
        "v3": Endpoint("GET", "/oauth/v1/access-tokens/{token}", secret_params=("token",)),
    },
    "oauth.revoke_refresh_token": {
        "2026-03": Endpoint("POST", "/oauth/2026-03/token/revoke", idempotent=True),
        "v3": Endpoint("DELETE", "/oauth/v1/refresh-tokens/{token}", secret_params=("token",)),
    },
    # Custom channels, channel level: developer API key (§5.1).
    "channels.create": {"2026-03": Endpoint("POST", _CC), "v3": Endpoint("POST", _CC3)},
    "channels.list": {"2026-03": Endpoint("GET", _CC), "v3": Endpoint("GET", _CC3)},
    "channels.get": {
        "2026-03": Endpoint("GET", _CC + "/{channelId}"),
        "v3": Endpoint("GET", _CC3 + "/{channelId}"),
    },
    "channels.update": {
        "2026-03": Endpoint("PATCH", _CC + "/{channelId}"),
        "v3": Endpoint("PATCH", _CC3 + "/{channelId}"),
    },
    "channels.delete": {
        "2026-03": Endpoint("DELETE", _CC + "/{channelId}"),
        "v3": Endpoint("DELETE", _CC3 + "/{channelId}"),
    },
    # Channel accounts: Bearer (§5.2).
    "channel_accounts.create": {
        "2026-03": Endpoint("POST", _CC + "/{channelId}/channel-accounts"),
        "v3": Endpoint("POST", _CC3 + "/{channelId}/channel-accounts"),
    },
    "channel_accounts.list": {
        "2026-03": Endpoint("GET", _CC + "/{channelId}/channel-accounts"),
        "v3": Endpoint("GET", _CC3 + "/{channelId}/channel-accounts"),
    },
    "channel_accounts.get": {
        "2026-03": Endpoint("GET", _CC + "/{channelId}/channel-accounts/{channelAccountId}"),
        "v3": Endpoint("GET", _CC3 + "/{channelId}/channel-accounts/{channelAccountId}"),
    },
    "channel_accounts.update": {
        "2026-03": Endpoint("PATCH", _CC + "/{channelId}/channel-accounts/{channelAccountId}"),
        "v3": Endpoint("PATCH", _CC3 + "/{channelId}/channel-accounts/{channelAccountId}"),
    },
    # Custom-channel messages: Bearer (§5.3). A publish carries integrationIdempotencyId, which makes
    # HubSpot answer a replay with the original message, so it may be sent again.
    "messages.publish": {
        "2026-03": Endpoint("POST", _CC + "/{channelId}/messages", idempotent=True),
        "v3": Endpoint("POST", _CC3 + "/{channelId}/messages", idempotent=True),
    },
    "messages.get": {
        "2026-03": Endpoint("GET", _CC + "/{channelId}/messages/{messageId}"),
        "v3": Endpoint("GET", _CC3 + "/{channelId}/messages/{messageId}"),
    },
    "messages.update_status": {
        "2026-03": Endpoint("PATCH", _CC + "/{channelId}/messages/{messageId}"),
        "v3": Endpoint("PATCH", _CC3 + "/{channelId}/messages/{messageId}"),
    },
    # Conversations inbox: v3 only (§6).
    "inboxes.list": {"v3": Endpoint("GET", _INBOX3 + "/inboxes")},
    "inboxes.get": {"v3": Endpoint("GET", _INBOX3 + "/inboxes/{inboxId}")},
    "threads.list": {"v3": Endpoint("GET", _INBOX3 + "/threads")},
    "threads.get": {"v3": Endpoint("GET", _INBOX3 + "/threads/{threadId}")},
    "threads.update": {"v3": Endpoint("PATCH", _INBOX3 + "/threads/{threadId}")},
    "threads.messages.list": {"v3": Endpoint("GET", _INBOX3 + "/threads/{threadId}/messages")},
    "threads.messages.get": {"v3": Endpoint("GET", _INBOX3 + "/threads/{threadId}/messages/{messageId}")},
    # A comment (internal note) into a thread. Not idempotent: HubSpot takes no idempotency id
    # here, so it is never replayed after an ambiguous failure (it could post the comment twice).
    "threads.messages.create": {
        "v3": Endpoint("POST", _INBOX3 + "/threads/{threadId}/messages", idempotent=False)
    },
    "actors.get": {"v3": Endpoint("GET", _INBOX3 + "/actors/{actorId}")},
    # A read, although a POST.
    "actors.batch_read": {"v3": Endpoint("POST", _INBOX3 + "/actors/batch/read", idempotent=True)},
    # CRM contacts: Bearer (§7). Search is a read, although a POST.
    "contacts.search": {
        "2026-03": Endpoint("POST", "/crm/objects/2026-03/contacts/search", idempotent=True),
        "v3": Endpoint("POST", "/crm/v3/objects/contacts/search", idempotent=True),
    },
    # Not idempotent: a replay after an ambiguous failure could create the contact twice.
    "contacts.create": {
        "2026-03": Endpoint("POST", "/crm/objects/2026-03/contacts"),
        "v3": Endpoint("POST", "/crm/v3/objects/contacts"),
    },
    "contacts.get": {
        "2026-03": Endpoint("GET", "/crm/objects/2026-03/contacts/{contactId}"),
        "v3": Endpoint("GET", "/crm/v3/objects/contacts/{contactId}"),
    },
    # Files: Bearer (§8).
    "files.upload": {
        "2026-03": Endpoint("POST", "/files/2026-03/files"),
        "v3": Endpoint("POST", "/files/v3/files"),
    },
    "files.get": {
        "2026-03": Endpoint("GET", "/files/2026-03/files/{fileId}"),
        "v3": Endpoint("GET", "/files/v3/files/{fileId}"),
    },
    "files.signed_url": {
        "2026-03": Endpoint("GET", "/files/2026-03/files/{fileId}/signed-url"),
        "v3": Endpoint("GET", "/files/v3/files/{fileId}/signed-url"),
    },
    # Webhooks API: developer API key, appId in the path (§9).
    "webhooks.settings.get": {
        "2026-03": Endpoint("GET", "/webhooks/2026-03/{appId}/settings"),
        "v3": Endpoint("GET", "/webhooks/v3/{appId}/settings"),
    },
    "webhooks.settings.update": {
        "2026-03": Endpoint("PUT", "/webhooks/2026-03/{appId}/settings"),
        "v3": Endpoint("PUT", "/webhooks/v3/{appId}/settings"),
    },
    "webhooks.subscriptions.list": {
        "2026-03": Endpoint("GET", "/webhooks/2026-03/{appId}/subscriptions"),
        "v3": Endpoint("GET", "/webhooks/v3/{appId}/subscriptions"),
    },
    "webhooks.subscriptions.create": {
        "2026-03": Endpoint("POST", "/webhooks/2026-03/{appId}/subscriptions"),
        "v3": Endpoint("POST", "/webhooks/v3/{appId}/subscriptions"),
    },
    "webhooks.subscriptions.update": {
        "2026-03": Endpoint("PATCH", "/webhooks/2026-03/{appId}/subscriptions/{subscriptionId}"),
        "v3": Endpoint("PATCH", "/webhooks/v3/{appId}/subscriptions/{subscriptionId}"),
    },
    "webhooks.subscriptions.delete": {
        "2026-03": Endpoint("DELETE", "/webhooks/2026-03/{appId}/subscriptions/{subscriptionId}"),
        "v3": Endpoint("DELETE", "/webhooks/v3/{appId}/subscriptions/{subscriptionId}"),
    },
    # The consent page on app.hubspot.com (§4.8): built, never requested.
    "oauth.authorize": {"v3": Endpoint("GET", "/oauth/authorize", base="app")},
}


def configured_version() -> str:
    version = settings.HUBSPOT_API_VERSION
    if version not in VERSIONS:
        raise ImproperlyConfigured(f"HUBSPOT_API_VERSION must be one of {VERSIONS}, not {version!r}")
    return version


def endpoint(operation: str, version: str | None = None) -> Endpoint:
    """The endpoint of an operation in the configured version, or in the only version it has."""
    try:
        versions = ENDPOINTS[operation]
    except KeyError:
        raise KeyError(f"unknown HubSpot operation {operation!r}") from None
    wanted = version or configured_version()
    if wanted in versions:
        return versions[wanted]
    if len(versions) == 1:
        return next(iter(versions.values()))
    raise KeyError(f"HubSpot operation {operation!r} has no {wanted!r} endpoint")


def base_url(base: str = "api") -> str:
    """Read at call time, so settings overrides (tests, live_server) take effect immediately."""
    value = settings.HUBSPOT_API_BASE if base == "api" else settings.HUBSPOT_APP_BASE
    return value.rstrip("/")
