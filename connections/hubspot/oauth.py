"""HubSpot OAuth: the consent URL, and the token endpoints (code exchange, refresh, info, revoke).

The client authenticates with the app's client id and secret in a form body. It always sends
`application/x-www-form-urlencoded`, which both the v1 and the 2026-03 token endpoints accept (the
2026-03 spec says form; hubspot-sdk 0.1.0a9 happens to send JSON, contract §0.6).

Token responses carry secrets, so they come back as dataclasses whose token fields are
`SecretStr` (masked in repr), and neither their bodies nor their error bodies are logged or put
into exceptions (`token_endpoint=True` in the transport).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from django.utils import timezone

from connections.hubspot import errors
from connections.hubspot.paths import base_url, configured_version, endpoint
from connections.hubspot.transport import Transport
from core.secrets import SecretStr


@dataclass(frozen=True)
class TokenResponse:
    """What the token endpoint granted. `refresh_token` is None when HubSpot did not send one."""

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: int
    token_type: str = "bearer"
    hub_id: int | None = None
    user_id: int | None = None
    scopes: tuple[str, ...] = ()

    def expires_at(self, now: dt.datetime | None = None) -> dt.datetime:
        return (now or timezone.now()) + dt.timedelta(seconds=self.expires_in)


@dataclass(frozen=True)
class TokenInfo:
    """Metadata of an access token: which portal, user and app it belongs to, and its scopes."""

    hub_id: int
    app_id: int | None
    user: str
    user_id: int | None
    hub_domain: str
    scopes: tuple[str, ...]
    expires_in: int | None
    token_type: str
    active: bool = True
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def authorize_url(
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    optional_scopes: Iterable[str] = (),
    state: str = "",
) -> str:
    """The consent page to send the admin's browser to (on HUBSPOT_APP_BASE).

    Built like `hubspot.utils.oauth.get_auth_url`: space-joined scopes, values percent-encoded with
    `quote` (a `+` for a space is not understood by every HubSpot page).
    """
    query = {"client_id": client_id, "redirect_uri": redirect_uri}
    scopes = list(scopes)
    optional = list(optional_scopes)
    if scopes:
        query["scope"] = " ".join(scopes)
    if optional:
        query["optional_scope"] = " ".join(optional)
    if state:
        query["state"] = state
    ep = endpoint("oauth.authorize")
    return f"{base_url(ep.base)}{ep.path()}?{urlencode(query, safe='', quote_via=quote)}"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    return tuple(str(s) for s in value or ())


class OAuthClient:
    """Token endpoints of one HubSpot app (its client id and secret)."""

    def __init__(self, client_id: str, client_secret: str, *, transport: Transport | None = None):
        self.client_id = client_id
        self._client_secret = SecretStr(client_secret)
        self.transport = transport or Transport()

    @classmethod
    def for_app(cls, app, *, transport: Transport | None = None) -> OAuthClient:
        return cls(app.client_id, app.client_secret, transport=transport)

    def _credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": str.__str__(self._client_secret)}

    def _token(self, form: dict[str, str], **options) -> TokenResponse:
        body = self.transport.request("oauth.token", data=form, token_endpoint=True, **options)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise errors.HubSpotServerError(
                "HubSpot's token endpoint answered without an access token", operation="oauth.token"
            )
        refresh = body.get("refresh_token")
        return TokenResponse(
            access_token=SecretStr(body["access_token"]),
            refresh_token=SecretStr(refresh) if refresh else None,
            expires_in=int(body.get("expires_in") or 0),
            token_type=str(body.get("token_type") or "bearer"),
            hub_id=_int_or_none(body.get("hub_id")),
            user_id=_int_or_none(body.get("user_id")),
            scopes=_scopes(body.get("scopes") or body.get("scope")),
        )

    def exchange_code(
        self, code: str, redirect_uri: str, *, code_verifier: str | None = None
    ) -> TokenResponse:
        """Trade the authorization code from the consent redirect for tokens (single use)."""
        form = {
            "grant_type": "authorization_code",
            **self._credentials(),
            "redirect_uri": redirect_uri,
            "code": code,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        return self._token(form)

    def refresh(self, refresh_token: str, **options) -> TokenResponse:
        """A new access token. Raises HubSpotInvalidGrant when the refresh token is dead."""
        form = {
            "grant_type": "refresh_token",
            **self._credentials(),
            "refresh_token": str.__str__(refresh_token),
        }
        return self._token(form, **options)

    def token_info(self, access_token: str) -> TokenInfo:
        """Who and what an access token is for (hub_id, user, app_id, scopes, expires_in)."""
        token = str.__str__(access_token)
        if configured_version() == "v3":
            body = self.transport.request(
                "oauth.token_info", path_params={"token": token}, token_endpoint=True
            )
        else:
            body = self.transport.request(
                "oauth.token_info",
                data={"token": token, **self._credentials(), "token_type_hint": "access_token"},
                token_endpoint=True,
            )
        if not isinstance(body, dict):
            raise errors.HubSpotServerError(
                "HubSpot's token info answer is not an object", operation="oauth.token_info"
            )
        known = {"token", "hub_id", "app_id", "user", "user_id", "hub_domain", "scopes", "expires_in"}
        known |= {"token_type", "active", "signed_access_token"}
        return TokenInfo(
            hub_id=int(body.get("hub_id") or 0),
            app_id=_int_or_none(body.get("app_id")),
            user=str(body.get("user") or ""),
            user_id=_int_or_none(body.get("user_id")),
            hub_domain=str(body.get("hub_domain") or ""),
            scopes=_scopes(body.get("scopes")),
            expires_in=_int_or_none(body.get("expires_in")),
            token_type=str(body.get("token_type") or ""),
            active=bool(body.get("active", True)),
            extra={k: v for k, v in body.items() if k not in known},
        )

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """Revoke a refresh token (disconnect). Revoking one HubSpot no longer knows is not an error."""
        token = str.__str__(refresh_token)
        try:
            if configured_version() == "v3":
                self.transport.request(
                    "oauth.revoke_refresh_token", path_params={"token": token}, token_endpoint=True
                )
            else:
                self.transport.request(
                    "oauth.revoke_refresh_token",
                    data={"token": token, **self._credentials(), "token_type_hint": "refresh_token"},
                    token_endpoint=True,
                )
        except errors.HubSpotNotFound:
            pass
