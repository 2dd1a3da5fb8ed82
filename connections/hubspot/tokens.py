"""Access tokens of connections: handed out while fresh, refreshed once, shortly before expiry.

`get_access_token(connection_id)` returns the stored token while it has more than
HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS left, and otherwise refreshes it, so requests do not run into
401s at the expiry edge. Under concurrency exactly one refresh happens: the refresh runs while
holding `SELECT … FOR UPDATE` on the Connection row, and whoever gets the lock next re-reads the
row and finds the winner's fresh token. The lock covers the token request and the row update, and
nothing else; call this outside of long transactions, since a lock taken inside an outer
`atomic()` is only released when that outer transaction ends.

A refresh token that HubSpot refuses (invalid_grant / BAD_REFRESH_TOKEN: app uninstalled, access
revoked) puts the connection into ERROR with a readable `last_error`, committed even though the
call then raises. If HubSpot rotates the refresh token (the response carries a different one), the
new one is stored in the same update, so it is never lost between two refreshes.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from connections.hubspot import errors
from connections.hubspot.oauth import OAuthClient
from connections.hubspot.transport import Transport
from connections.models import Connection, ConnectionStatus
from core import metrics
from core.db import row_locking
from core.secrets import SecretStr

logger = logging.getLogger("hubspot")

#: Marks `last_error` texts written here, so a later successful refresh can clear them (and only them).
ERROR_PREFIX = "Token refresh failed: "
#: The token request runs under the row lock; keep its retry sleeps short so waiters are not stuck.
REFRESH_MAX_TOTAL_SLEEP = 5.0


def _fresh(connection: Connection, now: dt.datetime) -> bool:
    if not connection.access_token or connection.access_token_expires_at is None:
        return False
    margin = dt.timedelta(seconds=settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS)
    return connection.access_token_expires_at - margin > now


def _not_connected(connection_id: int) -> errors.HubSpotNotConnected:
    return errors.HubSpotNotConnected(
        f"Connection {connection_id} is not connected to HubSpot (disconnected or no refresh token); "
        "connect it again."
    )


def get_access_token(
    connection_id: int,
    *,
    force: bool = False,
    rejected: str | None = None,
    transport: Transport | None = None,
) -> SecretStr:
    """A usable access token for the connection, refreshing it if it is about to expire.

    `force=True` refreshes even a fresh-looking token (HubSpot answered 401). Pass the refused
    token as `rejected`: if another caller already replaced it, its token is reused rather than
    refreshed again.
    """
    if not force:
        connection = Connection.objects.only("access_token", "access_token_expires_at", "status").get(
            pk=connection_id
        )
        if connection.status == ConnectionStatus.DISCONNECTED:
            raise _not_connected(connection_id)
        if _fresh(connection, timezone.now()):
            return connection.access_token
    return _refresh(connection_id, force=force, rejected=rejected, transport=transport)


def _refresh(
    connection_id: int, *, force: bool, rejected: str | None, transport: Transport | None
) -> SecretStr:
    failure: errors.HubSpotError | None = None
    with row_locking():
        connection = (
            Connection.objects.select_for_update(of=("self",)).select_related("app").get(pk=connection_id)
        )
        # Re-check under the lock: a concurrent caller may have refreshed while we waited.
        fresh = _fresh(connection, timezone.now())
        if fresh and (not force or (rejected is not None and str(connection.access_token) != str(rejected))):
            return connection.access_token
        if not connection.refresh_token or connection.status == ConnectionStatus.DISCONNECTED:
            raise _not_connected(connection_id)
        client = OAuthClient.for_app(connection.app, transport=transport)
        try:
            granted = client.refresh(connection.refresh_token, max_total_sleep=REFRESH_MAX_TOTAL_SLEEP)
        except errors.HubSpotInvalidGrant as exc:
            failure = exc
            reason = (
                "HubSpot no longer accepts this connection's refresh token (the app was uninstalled "
                "or its access revoked). Connect the portal again."
            )
        except errors.HubSpotAuthError as exc:
            failure = exc
            reason = "HubSpot refused the app's client credentials; check the app's client ID and secret."
        if failure is not None:
            detail = f" [{failure.sub_category or failure.category or failure.status}"
            detail += f", correlationId {failure.correlation_id}]" if failure.correlation_id else "]"
            connection.status = ConnectionStatus.ERROR
            connection.last_error = ERROR_PREFIX + reason + detail
            connection.save(update_fields=["status", "last_error", "updated_at"])
        else:
            update_fields = ["access_token", "access_token_expires_at", "updated_at"]
            connection.access_token = granted.access_token
            connection.access_token_expires_at = granted.expires_at()
            if granted.refresh_token and str(granted.refresh_token) != str(connection.refresh_token):
                connection.refresh_token = granted.refresh_token
                update_fields.append("refresh_token")
            if connection.status == ConnectionStatus.ERROR and connection.last_error.startswith(ERROR_PREFIX):
                connection.status = ConnectionStatus.ACTIVE
                connection.last_error = ""
                update_fields += ["status", "last_error"]
            connection.save(update_fields=update_fields)
            logger.info(
                "HubSpot access token refreshed for connection %s (portal %s)%s",
                connection_id,
                connection.portal_id,
                ", refresh token rotated" if "refresh_token" in update_fields else "",
            )
            return connection.access_token
    # Outside the atomic block, so the ERROR status above is committed before we raise.
    logger.warning("HubSpot token refresh failed for connection %s: %s", connection_id, failure)
    metrics.token_refresh_failed(failure)
    raise failure
