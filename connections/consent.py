"""Connecting a HubSpot portal through OAuth consent, started from the admin.

The `state` sent to HubSpot is a random id for an entry stashed in the admin's session, bound to
the user, tenant, app and (for a reconnect) connection. It is single use (popped on callback),
expires after STATE_TTL_SECONDS, and at most MAX_PENDING are kept (oldest dropped), so a forged,
replayed, stale or other-session state finds nothing and nothing is stored.
"""

import contextlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string

from connections.hubspot import errors as hs_errors
from connections.hubspot import scopes as hs_scopes
from connections.hubspot.oauth import OAuthClient, TokenInfo, TokenResponse, authorize_url
from connections.hubspot.scopes import PORTAL_SCOPES
from connections.models import (
    ChannelRegistration,
    Connection,
    ConnectionStatus,
    ErrorOrigin,
    HubSpotApp,
)
from core import audit
from tenants.models import Role, Tenant, tenant_ids_for

#: What a new app record asks for by default (an app may ask for more, see HubSpotApp.required_scopes).
REQUIRED_SCOPES = PORTAL_SCOPES
SESSION_KEY = "hubspot_oauth_states"
STATE_TTL_SECONDS = 10 * 60
MAX_PENDING = 10


class ConsentError(Exception):
    """The connection was not made. The message is written for the admin who clicked Connect."""

    def __init__(
        self, message: str, *, code: str, connection_id: int | None = None, tenant_id: int | None = None
    ):
        super().__init__(message)
        self.code = code
        self.connection_id = connection_id
        self.tenant_id = tenant_id


@dataclass(frozen=True)
class Pending:
    user_id: int
    tenant_id: int
    app_id: int
    connection_id: int | None
    created: float


def redirect_uri() -> str:
    """The callback URL registered in the HubSpot app; from PUBLIC_BASE_URL, never request headers."""
    return settings.PUBLIC_BASE_URL + reverse("connections:oauth-callback")


def _may_connect(user, tenant_id: int) -> bool:
    return user.is_superuser or tenant_id in tenant_ids_for(user, (Role.ADMIN,))


def start(request, *, tenant: Tenant, app: HubSpotApp, connection: Connection | None = None) -> str:
    """Stash a state for this consent and return HubSpot's authorize URL to redirect to."""
    if not _may_connect(request.user, tenant.pk):
        raise ConsentError("You are not an admin of this organisation.", code="forbidden")
    if app.tenant_id not in (None, tenant.pk):
        raise ConsentError("This HubSpot app belongs to another organisation.", code="forbidden")
    states = {
        key: value
        for key, value in request.session.get(SESSION_KEY, {}).items()
        if time.time() - value["created"] < STATE_TTL_SECONDS
    }
    while len(states) >= MAX_PENDING:
        states.pop(min(states, key=lambda k: states[k]["created"]))
    state = get_random_string(32)
    states[state] = {
        "user_id": request.user.pk,
        "tenant_id": tenant.pk,
        "app_id": app.pk,
        "connection_id": connection.pk if connection else None,
        "created": time.time(),
    }
    request.session[SESSION_KEY] = states
    required, optional = hs_scopes.install_scopes(app)
    return authorize_url(app.client_id, redirect_uri(), required, optional, state=state)


def _pop_state(request, state: str) -> Pending:
    states = request.session.get(SESSION_KEY, {})
    entry = states.pop(state, None) if state else None
    request.session[SESSION_KEY] = states
    if entry is None:
        raise ConsentError(
            "This HubSpot authorization is unknown or was already used. Start again with "
            "“Connect to HubSpot”.",
            code="unknown_state",
        )
    pending = Pending(**entry)
    if time.time() - pending.created >= STATE_TTL_SECONDS:
        raise ConsentError(
            "This HubSpot authorization took longer than 10 minutes and expired. Start again.",
            code="expired_state",
            connection_id=pending.connection_id,
        )
    if pending.user_id != request.user.pk:
        raise ConsentError("This authorization was started by another user.", code="unknown_state")
    return pending


def complete(request, params) -> Connection:
    """Finish the consent from HubSpot's redirect: verify, exchange, check, store. Raises ConsentError."""
    pending = _pop_state(request, params.get("state", ""))
    try:
        return _complete(request, params, pending)
    except ConsentError as exc:
        exc.tenant_id = pending.tenant_id
        exc.connection_id = exc.connection_id or pending.connection_id
        raise


def _complete(request, params, pending: Pending) -> Connection:
    reconnect = pending.connection_id
    if params.get("error"):
        if params["error"] == "access_denied":
            raise ConsentError(
                "Consent was denied on HubSpot's page; nothing was connected.",
                code="access_denied",
                connection_id=reconnect,
            )
        description = params.get("error_description", "")[:300]
        raise ConsentError(
            f"HubSpot reported an error ({params['error'][:60]}): {description}",
            code="hubspot_error",
            connection_id=reconnect,
        )
    code = params.get("code", "")
    if not code:
        raise ConsentError("HubSpot's redirect carried no authorization code.", code="no_code")
    if not _may_connect(request.user, pending.tenant_id):
        raise ConsentError("You are no longer an admin of this organisation.", code="forbidden")
    tenant = Tenant.objects.get(pk=pending.tenant_id)
    app = HubSpotApp.objects.get(pk=pending.app_id)

    client = OAuthClient.for_app(app)
    try:
        tokens = client.exchange_code(code, redirect_uri())
        info = client.token_info(tokens.access_token)
    except hs_errors.HubSpotError as exc:
        raise ConsentError(
            f"HubSpot refused the authorization: {exc.message}",
            code="exchange_failed",
            connection_id=reconnect,
        ) from None
    missing = list(hs_scopes.report(app, info.scopes).missing)
    if missing:
        _revoke_quietly(client, tokens)
        raise ConsentError(
            "HubSpot did not grant the scopes the portal needs: "
            f"{', '.join(missing)}. Add them to the app's scopes in HubSpot and connect again.",
            code="missing_scopes",
            connection_id=reconnect,
        )
    if info.app_id and info.app_id != app.app_id:
        _revoke_quietly(client, tokens)
        raise ConsentError(
            f"The token belongs to HubSpot app {info.app_id}, not {app.app_id}.", code="wrong_app"
        )
    before = (
        Connection.objects.filter(app=app, portal_id=info.hub_id).values_list("scopes", flat=True).first()
    )
    connection = _store(request.user, tenant, app, reconnect, tokens, info)
    # A reconnect that lost a scope granted before (an optional one declined, or removed from the
    # app in HubSpot) is said out loud: on the connection and in the audit log.
    dropped = hs_scopes.dropped(before or [], info.scopes)
    message = f"Connected HubSpot portal {info.hub_id} ({info.hub_domain}) as {info.user}."
    if dropped:
        note = f"HubSpot no longer grants scopes granted before: {', '.join(dropped)}."
        Connection.objects.filter(pk=connection.pk).update(last_error=note)
        connection.last_error = note
        message += " " + note
    audit.record(
        "connection.connect",
        actor=request.user,
        tenant=tenant,
        target=connection,
        message=message,
        details={
            "portal_id": info.hub_id,
            "scopes": list(info.scopes),
            "hubspot_user": info.user,
            "dropped_scopes": dropped,
        },
    )
    return connection


def _revoke_quietly(client: OAuthClient, tokens: TokenResponse) -> None:
    # A grant we will not use should not stay valid at HubSpot; failing to revoke is not fatal.
    if tokens.refresh_token:
        with contextlib.suppress(hs_errors.HubSpotError):
            client.revoke_refresh_token(tokens.refresh_token)


def _store(user, tenant, app, reconnect_id, tokens: TokenResponse, info: TokenInfo) -> Connection:
    try:
        with transaction.atomic():
            existing = Connection.objects.select_for_update().filter(app=app, portal_id=info.hub_id).first()
            if existing is not None and existing.tenant_id != tenant.pk:
                raise ConsentError(
                    f"HubSpot portal {info.hub_id} is already connected by another organisation "
                    "through this app.",
                    code="portal_taken",
                )
            if reconnect_id is not None:
                target = Connection.objects.select_for_update().get(pk=reconnect_id, tenant=tenant)
                if target.portal_id not in (None, info.hub_id):
                    raise ConsentError(
                        f"“{target}” is HubSpot portal {target.portal_id}, but portal {info.hub_id} "
                        "was approved. Pick the same portal on HubSpot's page.",
                        code="wrong_portal",
                        connection_id=reconnect_id,
                    )
                if existing is not None and existing.pk != target.pk:
                    target = existing
            else:
                target = existing or Connection(tenant=tenant, app=app)
            target.portal_id = info.hub_id
            target.hub_domain = info.hub_domain
            target.scopes = sorted(info.scopes)
            target.access_token = tokens.access_token
            target.access_token_expires_at = tokens.expires_at()
            if tokens.refresh_token:
                target.refresh_token = tokens.refresh_token
            target.status = ConnectionStatus.ACTIVE
            target.last_error, target.error_origin = "", ErrorOrigin.NONE
            # A token refresh in flight (tokens.py) then stores nothing over the new grant.
            target.token_refresh_claim = target.token_refresh_claimed_until = None
            target.connected_by = user
            target.connected_at = timezone.now()
            if not target.name:
                target.name = info.hub_domain or f"Portal {info.hub_id}"
            target.save()
            ChannelRegistration.objects.get_or_create(connection=target)
            return target
    except IntegrityError:
        # Two consents for the same portal raced; the other one stored it.
        raise ConsentError(
            f"HubSpot portal {info.hub_id} was connected by a concurrent request; reload the page.",
            code="race",
        ) from None
