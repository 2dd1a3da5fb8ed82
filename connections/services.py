"""Admin actions on a connection that are not registration: disconnect, bot keys, callback secrets.

Each is one function that does the work and writes the audit entry, so the admin, the commands
and tests all go through the same path. Plaintext secrets are returned to the caller to show once;
they never go into the audit log or the logs.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from connections.hubspot import HubSpotError, OAuthClient
from connections.models import BotApiKey, CallbackSecret, Connection, ConnectionStatus, ErrorOrigin
from core import audit
from core.db import row_locking
from core.models import AuditLogEntry

#: The new secret and the one before it stay valid while a bot switches over.
ACTIVE_CALLBACK_SECRETS = 2


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


WIPED = (
    "access_token",
    "refresh_token",
    "access_token_expires_at",
    "status",
    "last_error",
    "error_origin",
    "token_refresh_claim",
    "token_refresh_claimed_until",
)


def disconnect(connection: Connection, *, actor=None) -> dict:
    """Revoke the refresh token at HubSpot (best effort), wipe the stored tokens, mark DISCONNECTED.

    Returns `{"revoked": bool, "error": str | None}`; a failed revocation is reported, not raised,
    because the tokens are wiped here either way. The channel registration is left as it is:
    unregister first to switch off the channel accounts, which needs the tokens.
    """
    # The wipe clears the token refresh claim (tokens.py): a refresh in flight records its result
    # only while its claim is on the row, so it stores nothing after this. A short transaction;
    # HubSpot is called after the commit, with the token read under the lock.
    with row_locking():
        locked = (
            Connection.objects.select_for_update(of=("self",)).select_related("app").get(pk=connection.pk)
        )
        app, refresh_token = locked.app, str(locked.refresh_token or "")
        locked.access_token = ""
        locked.refresh_token = ""
        locked.access_token_expires_at = None
        locked.status = ConnectionStatus.DISCONNECTED
        locked.last_error, locked.error_origin = "", ErrorOrigin.NONE
        locked.token_refresh_claim = locked.token_refresh_claimed_until = None
        locked.save(update_fields=[*WIPED, "updated_at"])
    had_token, error = bool(refresh_token), None
    if had_token:
        try:
            OAuthClient.for_app(app).revoke_refresh_token(refresh_token)
        except HubSpotError as exc:
            error = str(exc)
    if error:
        locked.last_error = f"Disconnected, but HubSpot did not confirm revoking the refresh token: {error}"
        locked.error_origin = ErrorOrigin.REVOCATION
        # Only if nothing reconnected it meanwhile.
        Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.DISCONNECTED).update(
            last_error=locked.last_error, error_origin=locked.error_origin, updated_at=timezone.now()
        )
    for field in WIPED:
        setattr(connection, field, getattr(locked, field))
    audit.record(
        "connection.disconnect",
        actor=actor,
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.FAILURE if error else AuditLogEntry.Outcome.SUCCESS,
        message=(
            "Disconnected; tokens wiped."
            + (" The refresh token was revoked at HubSpot." if had_token and not error else "")
            + (f" Revoking at HubSpot failed: {error}" if error else "")
        ),
        details={"revoked": had_token and error is None},
    )
    return {"revoked": had_token and error is None, "error": error}


def issue_bot_key(connection: Connection, *, actor=None, name: str = "Bot") -> tuple[BotApiKey, str]:
    """A new API key for a bot of this connection; the plaintext is returned once, only here."""
    key, plaintext = BotApiKey.issue(connection, name=name, created_by=_user(actor))
    audit.record(
        "bot_key.issue",
        actor=actor,
        tenant=connection.tenant,
        target=connection,
        message=f"Bot API key {key.prefix}… ({name}) issued.",
        details={"prefix": key.prefix, "name": name},
    )
    return key, plaintext


def revoke_bot_key(key: BotApiKey, *, actor=None) -> None:
    key.revoke()
    audit.record(
        "bot_key.revoke",
        actor=actor,
        tenant=key.connection.tenant,
        target=key.connection,
        message=f"Bot API key {key.prefix}… revoked.",
        details={"prefix": key.prefix},
    )


def rotate_callback_secret(connection: Connection, *, actor=None) -> tuple[CallbackSecret, str]:
    """Issue a new callback signing secret and retire all but the newest two."""
    with transaction.atomic():
        # Serializes rotations of one connection, so two at once cannot leave three active.
        Connection.objects.select_for_update(of=("self",)).filter(pk=connection.pk).first()
        secret, plaintext = CallbackSecret.issue(connection)
        active = CallbackSecret.objects.filter(connection=connection, retired_at=None)
        keep = list(
            active.order_by("-created_at", "-pk").values_list("pk", flat=True)[:ACTIVE_CALLBACK_SECRETS]
        )
        retired = active.exclude(pk__in=keep).update(retired_at=timezone.now())
    audit.record(
        "callback_secret.rotate",
        actor=actor,
        tenant=connection.tenant,
        target=connection,
        message=f"Callback signing secret issued; {retired} older secret(s) retired.",
        details={"secret_id": secret.pk, "retired": retired},
    )
    return secret, plaintext
