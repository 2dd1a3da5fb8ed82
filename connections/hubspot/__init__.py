"""The portal's only HubSpot client: every HubSpot request of the product goes through this package.

Modules:
    client        HubSpotClient (per connected portal, Bearer) and HubSpotDeveloperClient (per app,
                  developer API key)
    oauth         authorize_url, OAuthClient (code exchange, refresh, token info, revoke)
    tokens        get_access_token: refresh shortly before expiry, one refresher at a time
    channels, conversations, crm, files, webhooks_api
                  the calls, grouped by HubSpot API, mixed into the clients
    paths         the table of endpoints per API version (the only place paths are written)
    transport     session, timeouts, auth flavours, retries, error mapping, request logs
    ratelimit     per-portal sliding-window limiter in Django's cache
    errors        HubSpotError and its subclasses
    paging        Page and the pagination helper

Tests mock HTTP (the `responses` library) or run against the sandbox; nothing else needs patching.
"""

from connections.hubspot.channels import delivery_identifier
from connections.hubspot.client import HubSpotClient, HubSpotDeveloperClient
from connections.hubspot.conversations import file_attachment, participant
from connections.hubspot.errors import (
    RETRYABLE_ERRORS,
    HubSpotAuthError,
    HubSpotError,
    HubSpotInvalidGrant,
    HubSpotMissingScopes,
    HubSpotNetworkError,
    HubSpotNotConnected,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotTokenRefreshBusy,
    HubSpotValidationError,
)
from connections.hubspot.oauth import OAuthClient, TokenInfo, TokenResponse, authorize_url
from connections.hubspot.paging import Page
from connections.hubspot.transport import Transport

__all__ = [
    "RETRYABLE_ERRORS",
    "HubSpotAuthError",
    "HubSpotClient",
    "HubSpotDeveloperClient",
    "HubSpotError",
    "HubSpotInvalidGrant",
    "HubSpotMissingScopes",
    "HubSpotNetworkError",
    "HubSpotNotConnected",
    "HubSpotNotFound",
    "HubSpotRateLimited",
    "HubSpotServerError",
    "HubSpotTokenRefreshBusy",
    "HubSpotValidationError",
    "OAuthClient",
    "Page",
    "TokenInfo",
    "TokenResponse",
    "Transport",
    "authorize_url",
    "delivery_identifier",
    "file_attachment",
    "participant",
]
