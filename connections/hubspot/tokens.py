"""Access tokens of connections: handed out while fresh, refreshed once, shortly before expiry.

`get_access_token(connection_id)` returns the stored token while it has more than
HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS left, and otherwise refreshes it, so requests do not run into
401s at the expiry edge.

Under concurrency exactly one refresh happens, and no row lock or transaction is open while
HubSpot answers (docs/architecture.md, "The token refresh claim"):

1. **Claim.** A conditional UPDATE writes a new `token_refresh_claim` id and
   `token_refresh_claimed_until` on the Connection row, only if no live claim is there, and
   commits at once. The claimant then re-reads the row: a caller that waited may find the token
   another one just stored, and uses it.
2. **Call.** The token request runs with the row free: an admin saving the connection, a
   disconnect or a new consent do not wait for HubSpot.
3. **Record.** A short transaction stores the new token (or the ERROR) and clears the claim, only
   if the claim is still ours. A disconnect and a new consent clear the claim when they write the
   tokens, so a refresh in flight at that moment stores nothing and its caller is told the
   connection is not connected (or re-reads the consent's token).

The others poll the row until the claim is gone (and reuse the token it left), or has lapsed (its
worker died: they claim it), for at most REFRESH_WAIT_SECONDS, then raise the retryable
HubSpotTokenRefreshBusy. A claim lasts as long as the longest token request the transport can
make (`claim_seconds`), so a live refresher keeps it; one that outlives it anyway stores its
token only if nobody took the claim over. Call this outside of transactions: inside one, the
claim is not seen by others until that one commits, and its row stays locked until then.

A refresh token that HubSpot refuses (invalid_grant / BAD_REFRESH_TOKEN: app uninstalled, access
revoked) puts the connection into ERROR with a readable `last_error` and `error_origin`
TOKEN_REFRESH, committed before the call raises. If HubSpot rotates the refresh token (the
response carries a different one), the new one is stored in the same update, so it is never lost
between two refreshes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connections.hubspot import errors
from connections.hubspot.oauth import OAuthClient, TokenResponse
from connections.hubspot.transport import Transport
from connections.models import Connection, ConnectionStatus, ErrorOrigin
from core import metrics
from core.db import row_locking
from core.secrets import SecretStr

logger = logging.getLogger("hubspot")

#: Begins the `last_error` texts written here (for people; `error_origin` says it for the code).
ERROR_PREFIX = "Token refresh failed: "
#: Others wait for the token request; keep its retry sleeps short so they are not stuck.
REFRESH_MAX_TOTAL_SLEEP = 5.0
#: How long a caller waits for another worker's refresh before raising HubSpotTokenRefreshBusy: about
#: one slow token request (connect + read timeout at the defaults, plus the retry sleeps).
REFRESH_WAIT_SECONDS = 30.0
#: How often a waiting caller looks at the row again.
POLL_SECONDS = 0.1


def claim_seconds() -> float:
    """How long a refresh claim holds: the longest token request the transport makes.

    A token grant is not replayed after an unknown outcome, so only requests that never left (a
    connect failure each) and 429s are retried: every attempt's connect timeout, one read timeout,
    the retry sleeps, and 2 s for the claim and record steps.
    """
    attempts = settings.HUBSPOT_MAX_RETRIES + 1
    return (
        attempts * settings.HUBSPOT_CONNECT_TIMEOUT
        + settings.HUBSPOT_READ_TIMEOUT
        + REFRESH_MAX_TOTAL_SLEEP
        + 2
    )


def _fresh(connection: Connection, now: dt.datetime) -> bool:
    if not connection.access_token or connection.access_token_expires_at is None:
        return False
    margin = dt.timedelta(seconds=settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS)
    return connection.access_token_expires_at - margin > now


def is_fresh(access_token, expires_at: dt.datetime | None, status: str) -> bool:
    """Whether a token a caller read from the row (with other columns, in its own query) is what
    `get_access_token` would hand out without refreshing: connected, and not about to expire."""
    if status == ConnectionStatus.DISCONNECTED or not access_token or expires_at is None:
        return False
    margin = dt.timedelta(seconds=settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS)
    return expires_at - margin > timezone.now()


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


def _acceptable(connection: Connection, *, force: bool, rejected: str | None) -> bool:
    """Whether the stored token answers this call: fresh, and for a forced refresh, not the one
    HubSpot refused (another caller replaced it)."""
    if not _fresh(connection, timezone.now()):
        return False
    return not force or (rejected is not None and str(connection.access_token) != str(rejected))


def _claim(connection_id: int) -> uuid.UUID | None:
    """Take the refresh claim if nobody holds a live one; committed at once (autocommit)."""
    now = timezone.now()
    claim = uuid.uuid4()
    free = Q(token_refresh_claimed_until__isnull=True) | Q(token_refresh_claimed_until__lte=now)
    taken = (
        Connection.objects.filter(pk=connection_id)
        .filter(free)
        .update(
            token_refresh_claim=claim,
            token_refresh_claimed_until=now + dt.timedelta(seconds=claim_seconds()),
        )
    )
    return claim if taken else None


def _release(connection_id: int, claim: uuid.UUID | None) -> None:
    if claim is not None:
        Connection.objects.filter(pk=connection_id, token_refresh_claim=claim).update(
            token_refresh_claim=None, token_refresh_claimed_until=None
        )


def _refresh(
    connection_id: int, *, force: bool, rejected: str | None, transport: Transport | None
) -> SecretStr:
    give_up_at = time.monotonic() + REFRESH_WAIT_SECONDS
    while True:
        claim = _claim(connection_id)
        # Read after claiming: whoever held the claim before may have stored a fresh token.
        connection = Connection.objects.select_related("app").get(pk=connection_id)
        if _acceptable(connection, force=force, rejected=rejected):
            _release(connection_id, claim)
            return connection.access_token
        if not connection.refresh_token or connection.status == ConnectionStatus.DISCONNECTED:
            _release(connection_id, claim)
            raise _not_connected(connection_id)
        if claim is not None:
            recorded = _request_and_record(connection, claim, transport)
            if recorded is not None:
                return recorded
            # Our claim was cleared (a new consent) or taken over (it lapsed): look again.
            continue
        if time.monotonic() >= give_up_at:
            raise errors.HubSpotTokenRefreshBusy(
                f"Another worker is refreshing the access token of connection {connection_id} and did "
                f"not finish within {REFRESH_WAIT_SECONDS:g} s; try again."
            )
        time.sleep(POLL_SECONDS)


def _request_and_record(
    connection: Connection, claim: uuid.UUID, transport: Transport | None
) -> SecretStr | None:
    """Ask HubSpot for a token with the row free, then record the outcome if the claim is still
    ours. The stored token, or None if the claim was lost; raises what HubSpot's answer means."""
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
    except BaseException:
        # Network trouble, 5xx, a worker shutting down: nothing to record; others may try now.
        _release(connection.pk, claim)
        raise
    else:
        return _record_grant(connection.pk, claim, granted)
    if not _record_failure(connection.pk, claim, failure, reason):
        # Lost the claim: a disconnect (its revocation may be what HubSpot refused) or a new
        # consent replaced the credentials; neither is an error of this refresh.
        _raise_if_disconnected(connection.pk)
        return None
    # Raised after the record transaction, so the ERROR status is committed.
    logger.warning("HubSpot token refresh failed for connection %s: %s", connection.pk, failure)
    metrics.token_refresh_failed(failure)
    raise failure


def _locked_if_ours(connection_id: int, claim: uuid.UUID) -> Connection | None:
    """The row, locked for the short record transaction, if our claim is still on it."""
    row = Connection.objects.select_for_update(of=("self",)).get(pk=connection_id)
    if row.token_refresh_claim != claim or row.status == ConnectionStatus.DISCONNECTED:
        return None
    return row


def _record_grant(connection_id: int, claim: uuid.UUID, granted: TokenResponse) -> SecretStr | None:
    with row_locking():
        connection = _locked_if_ours(connection_id, claim)
        if connection is None:
            stored = None
        else:
            update_fields = [
                "access_token",
                "access_token_expires_at",
                "token_refresh_claim",
                "token_refresh_claimed_until",
                "updated_at",
            ]
            connection.access_token = granted.access_token
            connection.access_token_expires_at = granted.expires_at()
            connection.token_refresh_claim = connection.token_refresh_claimed_until = None
            if granted.refresh_token and str(granted.refresh_token) != str(connection.refresh_token):
                connection.refresh_token = granted.refresh_token
                update_fields.append("refresh_token")
            if (
                connection.status == ConnectionStatus.ERROR
                and connection.error_origin == ErrorOrigin.TOKEN_REFRESH
            ):
                connection.status = ConnectionStatus.ACTIVE
                connection.last_error, connection.error_origin = "", ErrorOrigin.NONE
                update_fields += ["status", "last_error", "error_origin"]
            connection.save(update_fields=update_fields)
            stored = connection.access_token
    if stored is None:
        logger.info("HubSpot token refresh for connection %s lost its claim; not stored", connection_id)
        _raise_if_disconnected(connection_id)
        return None
    logger.info(
        "HubSpot access token refreshed for connection %s (portal %s)%s",
        connection_id,
        connection.portal_id,
        ", refresh token rotated" if "refresh_token" in update_fields else "",
    )
    return stored


def _record_failure(connection_id: int, claim: uuid.UUID, failure: errors.HubSpotError, reason: str) -> bool:
    """Put the connection into ERROR with the reason, if the claim is still ours; whether it was."""
    detail = f" [{failure.sub_category or failure.category or failure.status}"
    detail += f", correlationId {failure.correlation_id}]" if failure.correlation_id else "]"
    with row_locking():
        connection = _locked_if_ours(connection_id, claim)
        if connection is None:
            return False
        connection.status = ConnectionStatus.ERROR
        connection.last_error = ERROR_PREFIX + reason + detail
        connection.error_origin = ErrorOrigin.TOKEN_REFRESH
        connection.token_refresh_claim = connection.token_refresh_claimed_until = None
        connection.save(
            update_fields=[
                "status",
                "last_error",
                "error_origin",
                "token_refresh_claim",
                "token_refresh_claimed_until",
                "updated_at",
            ]
        )
    return True


def _raise_if_disconnected(connection_id: int) -> None:
    row = Connection.objects.only("status", "refresh_token").get(pk=connection_id)
    if row.status == ConnectionStatus.DISCONNECTED or not row.refresh_token:
        raise _not_connected(connection_id)
