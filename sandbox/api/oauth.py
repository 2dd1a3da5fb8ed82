"""OAuth: token grant and refresh, token info, introspection and revocation (contract §4).

Both /oauth/v1 (hubspot-api-client, form-encoded) and /oauth/2026-03 (hubspot_sdk, which sends
JSON although HubSpot's spec says form) read either encoding. The refresh token stays the same
across refreshes, as HubSpot's does; only access tokens are minted anew.
"""

from __future__ import annotations

import json
import secrets
import zlib
from datetime import timedelta

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, no_content, ok, route
from sandbox.api.errors import ApiError, OAuthError
from sandbox.models import SandboxActor, SandboxApp, SandboxAuthCode, SandboxBehaviour, SandboxToken

HUBLET = "na1"


def form_or_json(request) -> dict:
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise OAuthError("BAD_REQUEST", f"Invalid JSON body: {exc}") from exc
        return {k: str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}
    body = QueryDict(request.body) if request.body else request.POST
    return {k: v for k, v in body.items()}


def user_id_for(portal_id: int, email: str) -> int:
    """The agent's numeric id when the user is a seeded agent, otherwise a stable number."""
    actor = SandboxActor.objects.filter(portal_id=portal_id, email__iexact=email, type="AGENT").first()
    if actor and actor.actor_id.removeprefix("A-").isdigit():
        return int(actor.actor_id.removeprefix("A-"))
    return zlib.crc32(email.lower().encode()) % 10_000_000 + 1


def issue_access_token(refresh: SandboxToken) -> SandboxToken:
    ttl = SandboxBehaviour.current().access_token_ttl_seconds
    return SandboxToken.objects.create(
        kind=SandboxToken.Kind.ACCESS,
        token=f"{HUBLET}-at-{secrets.token_urlsafe(32)}",
        app=refresh.app,
        portal=refresh.portal,
        scopes=list(refresh.scopes),
        user_email=refresh.user_email,
        user_id=refresh.user_id,
        expires_at=timezone.now() + timedelta(seconds=ttl),
    )


def new_refresh_token(code: SandboxAuthCode) -> SandboxToken:
    return SandboxToken.objects.create(
        kind=SandboxToken.Kind.REFRESH,
        token=f"{HUBLET}-{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
        app=code.app,
        portal=code.portal,
        scopes=list(code.scopes),
        user_email=code.user_email,
        user_id=user_id_for(code.portal_id, code.user_email),
    )


def _client(data: dict) -> SandboxApp:
    client_id = data.get("client_id", "")
    app = SandboxApp.objects.filter(client_id=client_id).first() if client_id else None
    if app is None:
        raise OAuthError("BAD_CLIENT_ID", "missing or unknown client id")
    if not constant_time_compare(app.client_secret, data.get("client_secret", "")):
        raise OAuthError("BAD_CLIENT_SECRET", "missing or invalid client secret")
    return app


def token_response(access: SandboxToken, refresh: SandboxToken) -> dict:
    return {
        "token_type": "bearer",
        "token_use": "access_token",
        "access_token": access.token,
        "refresh_token": refresh.token,
        "expires_in": round((access.expires_at - timezone.now()).total_seconds()),
        "hub_id": access.portal.portal_id,
        "user_id": access.user_id,
        "scopes": list(access.scopes),
    }


@endpoint(auth_kind=auth.NONE)
def token(request):
    data = form_or_json(request)
    grant_type = data.get("grant_type", "")
    if grant_type == "authorization_code":
        return ok(_authorization_code(data))
    if grant_type == "refresh_token":
        return ok(_refresh(data))
    raise OAuthError("BAD_GRANT_TYPE", "grant_type must be one of authorization_code, refresh_token")


def _authorization_code(data: dict) -> dict:
    with transaction.atomic():
        # Locked so two concurrent exchanges of one code cannot both succeed.
        code = (
            SandboxAuthCode.objects.select_for_update()
            .select_related("app", "portal")
            .filter(code=data.get("code") or "")
            .first()
        )
        if code is None or code.used_at is not None:
            raise OAuthError("BAD_AUTH_CODE", "missing or unknown auth code")
        app = _client(data)
        if app.pk != code.app_id:
            raise OAuthError("BAD_AUTH_CODE", "auth code was not issued to this client id")
        if code.expires_at <= timezone.now():
            raise OAuthError("EXPIRED_AUTH_CODE", "auth code is expired")
        if data.get("redirect_uri", "") != code.redirect_uri:
            raise OAuthError("BAD_REDIRECT_URI", "redirect_uri does not match the authorization request")
        code.used_at = timezone.now()
        code.save(update_fields=["used_at"])
        refresh = new_refresh_token(code)
        access = issue_access_token(refresh)
    return token_response(access, refresh)


def _refresh(data: dict) -> dict:
    refresh = (
        SandboxToken.objects.select_related("app", "portal")
        .filter(kind=SandboxToken.Kind.REFRESH, token=data.get("refresh_token") or "", revoked_at=None)
        .first()
    )
    if refresh is None:
        raise OAuthError("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
    app = _client(data)
    if app.pk != refresh.app_id:
        raise OAuthError("BAD_REFRESH_TOKEN", "refresh token was not issued to this client id")
    return token_response(issue_access_token(refresh), refresh)


# Token information ------------------------------------------------------------------------------


def _find(token_value: str, kind: str | None = None) -> SandboxToken:
    tokens = SandboxToken.objects.select_related("app", "portal").filter(token=token_value)
    if kind:
        tokens = tokens.filter(kind=kind)
    found = tokens.first()
    if found is None:
        raise ApiError(404, "Token not found", "OBJECT_NOT_FOUND", context={"token": [token_value]})
    return found


def _expires_in(access: SandboxToken) -> int:
    return max(0, int((access.expires_at - timezone.now()).total_seconds())) if access.expires_at else 0


def _active(token: SandboxToken) -> bool:
    if token.revoked_at is not None:
        return False
    return token.kind == SandboxToken.Kind.REFRESH or _expires_in(token) > 0


def access_token_info(access: SandboxToken) -> dict:
    """AccessTokenInfoResponse (v1) with the extra keys of PublicAccessTokenInfoResponse (2026-03)."""
    app, portal = access.app, access.portal
    scopes = list(access.scopes)
    return {
        "token": access.token,
        "active": _active(access),
        "token_type": "access",
        "token_use": "access_token",
        "user": access.user_email,
        "user_id": access.user_id,
        "hub_id": portal.portal_id,
        "hub_domain": portal.hub_domain,
        "app_id": app.app_id,
        "client_id": app.client_id,
        "expires_in": _expires_in(access),
        "scopes": scopes,
        "is_private_distribution": False,
        "scope_to_scope_group_pks": [],
        "trial_scopes": [],
        "trial_scope_to_scope_group_pks": [],
        "signed_access_token": {
            "appId": app.app_id,
            "hubId": portal.portal_id,
            "userId": access.user_id,
            "installingUserId": access.user_id,
            "expiresAt": int(access.expires_at.timestamp() * 1000) if access.expires_at else 0,
            "hublet": HUBLET,
            "isPrivateDistribution": False,
            "isServiceAccount": False,
            "isUserLevel": False,
            "scopes": ",".join(scopes),
            "scopeToScopeGroupPks": "",
            "trialScopes": "",
            "trialScopeToScopeGroupPks": "",
            "signature": secrets.token_urlsafe(16),
            "newSignature": secrets.token_urlsafe(16),
        },
    }


def refresh_token_info(refresh: SandboxToken) -> dict:
    return {
        "token": refresh.token,
        "active": _active(refresh),
        "token_type": "refresh",
        "token_use": "refresh_token",
        "user": refresh.user_email,
        "user_id": refresh.user_id,
        "hub_id": refresh.portal.portal_id,
        "hub_domain": refresh.portal.hub_domain,
        "app_id": refresh.app.app_id,
        "client_id": refresh.app.client_id,
        "scopes": list(refresh.scopes),
    }


@endpoint(auth_kind=auth.NONE)
def get_access_token(request, token_value: str):
    access = _find(token_value, SandboxToken.Kind.ACCESS)
    if not _active(access):
        # v1 reports dead tokens as unknown; introspection (below) reports them inactive instead.
        raise ApiError(404, "Token not found or expired", "OBJECT_NOT_FOUND")
    return ok(access_token_info(access))


@endpoint(auth_kind=auth.NONE)
def get_refresh_token(request, token_value: str):
    refresh = _find(token_value, SandboxToken.Kind.REFRESH)
    if refresh.revoked_at is not None:
        raise ApiError(404, "Token not found", "OBJECT_NOT_FOUND")
    return ok(refresh_token_info(refresh))


@endpoint(auth_kind=auth.NONE)
def delete_refresh_token(request, token_value: str):
    refresh = _find(token_value, SandboxToken.Kind.REFRESH)
    _revoke(refresh)
    return no_content()


def _revoke(token: SandboxToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


@endpoint(auth_kind=auth.NONE)
def introspect(request):
    data = form_or_json(request)
    app = _client(data)
    found = _find(data.get("token", ""))
    if found.app_id != app.pk:
        raise ApiError(404, "Token not found", "OBJECT_NOT_FOUND")
    if found.kind == SandboxToken.Kind.REFRESH:
        return ok(refresh_token_info(found))
    return ok(access_token_info(found))


@endpoint(auth_kind=auth.NONE)
def revoke(request):
    data = form_or_json(request)
    app = _client(data)
    found = SandboxToken.objects.filter(token=data.get("token", ""), app=app).first()
    # RFC 7009: revoking an unknown token is not an error, so clients can retry blindly.
    if found is not None:
        _revoke(found)
    return no_content()


token_view = route(POST=token)
access_token_view = route(GET=get_access_token)
refresh_token_view = route(GET=get_refresh_token, DELETE=delete_refresh_token)
introspect_view = route(POST=introspect)
revoke_view = route(POST=revoke)
