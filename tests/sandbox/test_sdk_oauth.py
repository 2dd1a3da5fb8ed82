"""Contract: both SDKs run HubSpot's OAuth flows against the sandbox and parse every answer."""

from __future__ import annotations

from datetime import timedelta

import hubspot_sdk
import pytest
from django.utils import timezone
from hubspot.oauth import ApiException as OAuthApiException

from sandbox.models import SandboxAuthCode, SandboxPortal, SandboxToken
from sandbox.seed import SCOPES

REDIRECT = "https://portal.example/hubspot/callback"


@pytest.fixture
def anonymous(live_server, live_portal) -> hubspot_sdk.HubSpot:
    return hubspot_sdk.HubSpot(
        base_url=live_server.url + "/sandbox/api", _strict_response_validation=True, max_retries=0
    )


def _code(live_portal, code="code-1", **fields) -> SandboxAuthCode:
    return SandboxAuthCode.objects.create(
        code=code,
        app=live_portal.app,
        portal=SandboxPortal.objects.get(portal_id=live_portal.seed["portal_id"]),
        scopes=["oauth", "conversations.read"],
        redirect_uri=REDIRECT,
        user_email="alice.agent@demo-company.example",
        expires_at=timezone.now() + timedelta(minutes=5),
        **fields,
    )


def test_sdk_exchanges_code_introspects_refreshes_and_revokes(anonymous, live_portal):
    _code(live_portal)
    creds = {"client_id": live_portal.seed["client_id"], "client_secret": live_portal.seed["client_secret"]}
    tokens = anonymous.auth.oauth.create_token(
        grant_type="authorization_code", code="code-1", redirect_uri=REDIRECT, **creds
    )
    assert tokens.token_use == "access_token"
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 1800
    assert tokens.hub_id == live_portal.seed["portal_id"]
    assert tokens.user_id == 1001  # the seeded agent with that e-mail
    assert tokens.scopes == ["oauth", "conversations.read"]

    # Codes are single use.
    with pytest.raises(hubspot_sdk.BadRequestError) as exc:
        anonymous.auth.oauth.create_token(
            grant_type="authorization_code", code="code-1", redirect_uri=REDIRECT, **creds
        )
    assert exc.value.body["status"] == "BAD_AUTH_CODE"

    info = anonymous.auth.oauth.introspect_token(token=tokens.access_token, **creds)
    assert info.token_use == "access_token"
    assert info.active is True
    assert info.app_id == live_portal.seed["app_id"]
    assert info.hub_id == live_portal.seed["portal_id"]
    assert info.signed_access_token.hub_id == live_portal.seed["portal_id"]
    assert info.scopes == ["oauth", "conversations.read"]

    refresh_info = anonymous.auth.oauth.introspect_token(token=tokens.refresh_token, **creds)
    assert refresh_info.token_use == "refresh_token"
    assert refresh_info.client_id == creds["client_id"]

    refreshed = anonymous.auth.oauth.create_token(
        grant_type="refresh_token", refresh_token=tokens.refresh_token, **creds
    )
    assert refreshed.refresh_token == tokens.refresh_token  # HubSpot keeps refresh tokens stable
    assert refreshed.access_token != tokens.access_token

    revoked = anonymous.auth.oauth.revoke_token(token=tokens.refresh_token, **creds)
    assert revoked.http_response.status_code == 204
    with pytest.raises(hubspot_sdk.BadRequestError) as exc:
        anonymous.auth.oauth.create_token(
            grant_type="refresh_token", refresh_token=tokens.refresh_token, **creds
        )
    assert exc.value.body["status"] == "BAD_REFRESH_TOKEN"
    assert exc.value.body["message"] == "missing or invalid refresh token"


def test_legacy_client_refreshes_and_reads_token_info(legacy, live_portal):
    tokens = legacy.oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=live_portal.seed["refresh_token"],
        client_id=live_portal.seed["client_id"],
        client_secret=live_portal.seed["client_secret"],
    )
    assert tokens.refresh_token == live_portal.seed["refresh_token"]
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 1800

    info = legacy.oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == live_portal.seed["portal_id"]
    assert info.app_id == live_portal.seed["app_id"]
    assert info.user_id == 1001
    assert info.scopes == SCOPES
    assert info.token == tokens.access_token

    refresh = legacy.oauth.refresh_tokens_api.get(live_portal.seed["refresh_token"])
    assert refresh.client_id == live_portal.seed["client_id"]
    assert refresh.hub_id == live_portal.seed["portal_id"]

    legacy.oauth.refresh_tokens_api.archive(live_portal.seed["refresh_token"])
    assert SandboxToken.objects.get(token=live_portal.seed["refresh_token"]).revoked_at is not None
    with pytest.raises(OAuthApiException) as exc:
        legacy.oauth.refresh_tokens_api.get(live_portal.seed["refresh_token"])
    assert exc.value.status == 404


def test_legacy_code_exchange_is_form_encoded_and_checks_redirect_uri(legacy, live_portal):
    _code(live_portal, code="code-2")
    creds = {"client_id": live_portal.seed["client_id"], "client_secret": live_portal.seed["client_secret"]}
    with pytest.raises(OAuthApiException) as exc:
        legacy.oauth.tokens_api.create(
            grant_type="authorization_code", code="code-2", redirect_uri="https://evil.example/cb", **creds
        )
    assert exc.value.status == 400
    assert '"BAD_REDIRECT_URI"' in exc.value.body
    tokens = legacy.oauth.tokens_api.create(
        grant_type="authorization_code", code="code-2", redirect_uri=REDIRECT, **creds
    )
    assert tokens.access_token.startswith("na1-")
