"""Registering the app's custom channel and connecting a connection's inboxes to it, idempotently.

What the old integration got wrong and what this does instead:

* It created a channel on every save. Here a run first keeps the channel we stored (if HubSpot
  still has it), then adopts one of the app's channels whose webhookUrl is ours (the URL holds the
  app's unguessable token, so only we can have made it), and only then creates one. Other channels
  with our URL are reported in `CustomChannel.duplicate_channel_ids`, never deleted.
* "List, then create" is racy, all the more as HubSpot lists a new channel only after a while.
  What prevents duplicates is a PostgreSQL advisory lock per app (`core.db.advisory_lock`), held
  from the listing until the new id is committed, so a second worker waits and then finds the id.
  Each inbox has its own advisory lock around "find or create its channel account". These are not
  row locks and no transaction stays open across a HubSpot call: every write under them commits
  at once, so the admin, webhooks and `remove_inbox` never wait for HubSpot; a write that must
  not undo a concurrent change is a conditional UPDATE (an inbox removed meanwhile stays removed).
  (SQLite, for the single-process `make run`, needs no lock.)
* It slept up to 63 s in the request waiting for HubSpot to list the channel. Here the run returns
  `Outcome(wait_seconds=…)`, and the Celery task re-schedules itself with that countdown (bounded
  by LISTING_COUNTDOWNS; after that it carries on, as the channel can be used before it is listed).
* It swallowed errors. Here every transition is written to `ChannelRegistration.detail`, a
  permanent HubSpot refusal (401/403/400) ends in FAILED with a reason a person can act on, and
  transient ones (network, 5xx, 429) are raised for the caller to retry with backoff.

The runs take ids and re-read everything, so a redelivered or repeated run is harmless: states
outside IN_PROGRESS mean "nothing to do". `tasks.py` wraps them for Celery; `register_now` runs them
in-process (the provisioning command). Call them outside any transaction: inside one, what they
write stays locked (and unseen by the next run) until the caller's transaction ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from connections.hubspot import (
    RETRYABLE_ERRORS,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotDeveloperClient,
    HubSpotError,
    HubSpotInvalidGrant,
    HubSpotMissingScopes,
    HubSpotNotConnected,
    HubSpotNotFound,
    HubSpotValidationError,
)
from connections.hubspot.channels import OPAQUE_ID, account_identifier
from connections.hubspot.tokens import get_access_token
from connections.inboxes import deauthorize_account
from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    Connection,
    ConnectionStatus,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from connections.webhook_urls import channel_webhook_url
from core import audit, jobs
from core.db import advisory_lock
from core.models import AuditLogEntry

logger = logging.getLogger(__name__)

S = RegistrationState
IN_PROGRESS = (S.QUEUED, S.CREATING_CHANNEL, S.WAITING_FOR_LISTING, S.CONNECTING_INBOXES)
#: A run that has not written its row for this long is presumed lost (worker killed, message
#: dropped), so a new request may enqueue again. Longer than any countdown used below.
STALE_AFTER = dt.timedelta(minutes=10)
#: Countdowns between checks whether HubSpot lists a new channel yet (about 2 minutes in all).
LISTING_COUNTDOWNS = (2, 4, 8, 15, 30, 30, 30)
#: Retries of a run after transient HubSpot failures (the client already retried each call).
MAX_TRANSIENT_RETRIES = 5
TRANSIENT_BACKOFF_BASE = 10
TRANSIENT_BACKOFF_CAP = 120

#: Advisory lock names (core.db.advisory_lock): one app's channel, one inbox's channel account.
CHANNEL_LOCK = "registration.channel"
INBOX_LOCK = "registration.inbox"

CHANNEL_NAME = "Chatbot handoff"
CHANNEL_DESCRIPTION = "Conversations a chatbot hands over to a person (human in the loop)."
#: Contract §5.1 "Channel capabilities". Bots reach people by email or phone; each escalation is
#: its own thread (INTEGRATION_THREAD_ID), and agents may reply with images and PDFs. Each channel
#: account is itself identified by a CHANNEL_SPECIFIC_OPAQUE_ID (see `account_identifier`), which
#: the channel must declare or HubSpot refuses the account.
CHANNEL_CAPABILITIES = {
    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", OPAQUE_ID],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "allowInlineImages": False,
    "allowOutgoingMessages": True,
    "outgoingAttachmentTypes": ["FILE"],
    "allowedFileAttachmentMimeTypes": [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
    ],
    "maxFileAttachmentCount": 5,
    "maxFileAttachmentSizeBytes": 10_000_000,
    "maxTotalFileAttachmentSizeBytes": 25_000_000,
    "richText": ["HYPERLINK", "BOLD", "ITALIC", "LISTS"],
}


class RegistrationFailed(Exception):
    """A permanent failure; the message is shown to the admin as the reason."""


class _Superseded(Exception):
    """The registration row left the state this run works for (finished by a concurrent run,
    unregistration requested): stop without touching it."""


@dataclass(frozen=True)
class Outcome:
    state: str
    #: > 0: run again after this many seconds (HubSpot does not list the channel yet).
    wait_seconds: int = 0


@dataclass(frozen=True)
class ChannelFound:
    channel_id: str
    created: bool
    listed: bool
    duplicates: list[str]


# Requests from the admin and the command ------------------------------------------------------


def request_registration(connection, *, actor=None, enqueue: bool = True) -> ChannelRegistration:
    """Queue a registration run unless one is already under way; returns the registration row.

    Safe to call on every save and on page refreshes: the row is locked while deciding, and a
    queued or running registration is not enqueued again (unless it looks lost, see STALE_AFTER).
    With enqueue=False the caller runs it itself (`register_now`).
    """
    with transaction.atomic():
        ChannelRegistration.objects.get_or_create(connection=connection)
        reg = ChannelRegistration.objects.select_for_update().get(connection=connection)
        busy = reg.state in IN_PROGRESS and reg.updated_at > timezone.now() - STALE_AFTER
        if not busy:
            reg.state, reg.detail, reg.last_error = S.QUEUED, "Waiting for a worker to start.", ""
            reg.requested_at, reg.finished_at = timezone.now(), None
            reg.save()
            if enqueue:
                jobs.enqueue_on_commit(
                    jobs.REGISTER_CHANNEL, connection.pk, what=f"registration of connection {connection.pk}"
                )
        _audit(
            connection,
            "channel.register",
            "requested",
            "Registration requested." if not busy else "Registration already under way; not queued again.",
            actor=actor,
        )
    return reg


def request_unregistration(connection, *, actor=None, enqueue: bool = True) -> ChannelRegistration:
    """Queue removing what registration made (see `run_unregistration`); idempotent like above."""
    with transaction.atomic():
        ChannelRegistration.objects.get_or_create(connection=connection)
        reg = ChannelRegistration.objects.select_for_update().get(connection=connection)
        busy = reg.state == S.UNREGISTERING and reg.updated_at > timezone.now() - STALE_AFTER
        if not busy:
            reg.state, reg.detail, reg.last_error = S.UNREGISTERING, "Waiting for a worker to start.", ""
            reg.requested_at, reg.finished_at = timezone.now(), None
            reg.save()
            if enqueue:
                jobs.enqueue_on_commit(
                    jobs.UNREGISTER_CHANNEL,
                    connection.pk,
                    what=f"unregistration of connection {connection.pk}",
                )
        _audit(
            connection,
            "channel.unregister",
            "requested",
            "Unregistration requested." if not busy else "Unregistration already under way.",
            actor=actor,
        )
    return reg


def request_identifier_upgrade(connection) -> bool:
    """Queue a registration run if an inbox still has a channel account made before delivery
    identifiers (publishing cannot name it); True if one was requested. Called by publishing, so
    an upgraded deployment heals itself on the first escalation instead of waiting for an admin.
    A run already queued or under way is left alone (`request_registration` would say so in the
    audit log on every publish retry)."""
    stale = connection.inboxes.exclude(state=InboxState.REMOVED).exclude(channel_account_id="")
    if not stale.filter(delivery_identifier="").exists():
        return False
    reg = ChannelRegistration.objects.filter(connection=connection).first()
    if reg is not None and reg.state in IN_PROGRESS and reg.updated_at > timezone.now() - STALE_AFTER:
        return False
    request_registration(connection)
    return True


# Bookkeeping ----------------------------------------------------------------------------------


def _audit(connection, action, phase, message, *, actor=None, failed=False, details=None):
    audit.record(
        action,
        actor=actor,
        # Requests come from a person (or the command); the phases after it from the task.
        actor_label="" if actor is not None or phase == "requested" else "registration task",
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.FAILURE if failed else AuditLogEntry.Outcome.SUCCESS,
        message=message,
        details={"phase": phase, **(details or {})},
    )


def _advance(connection_id, state, detail, *, allowed=IN_PROGRESS, **fields) -> None:
    """Move the row to `state` if it is still in one of `allowed`; otherwise this run is stale."""
    updated = ChannelRegistration.objects.filter(connection_id=connection_id, state__in=allowed).update(
        state=state, detail=detail[:500], updated_at=timezone.now(), **fields
    )
    if not updated:
        raise _Superseded


def mark_failed(connection_id, reason: str, *, action: str = "channel.register") -> None:
    """FAILED with `reason`, unless the row has moved on (e.g. a concurrent run finished)."""
    allowed = IN_PROGRESS if action == "channel.register" else (S.UNREGISTERING,)
    updated = ChannelRegistration.objects.filter(connection_id=connection_id, state__in=allowed).update(
        state=S.FAILED,
        detail=reason[:500],
        last_error=reason,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    connection = Connection.objects.select_related("tenant").filter(pk=connection_id).first()
    if updated and connection is not None:
        _audit(connection, action, "failed", reason, failed=True)
    logger.warning("%s failed for connection %s: %s", action, connection_id, reason)


def note_retry(
    connection_id, exc: HubSpotError, countdown: float, attempt: int, of: int = MAX_TRANSIENT_RETRIES
) -> None:
    """Say in the row why nothing seems to happen (and keep it from looking stale)."""
    ChannelRegistration.objects.filter(
        connection_id=connection_id, state__in=(*IN_PROGRESS, S.UNREGISTERING)
    ).update(
        detail=f"HubSpot did not answer properly ({exc}); trying again in {round(countdown)} s "
        f"(retry {attempt} of {of})."[:500],
        updated_at=timezone.now(),
    )


def transient_countdown(failures: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter for retrying a whole run; at least HubSpot's Retry-After."""
    cap = min(TRANSIENT_BACKOFF_CAP, TRANSIENT_BACKOFF_BASE * 2**failures)
    return max(retry_after or 0.0, random.uniform(cap / 2, cap))  # noqa: S311 - jitter only


def describe(exc: HubSpotError, app=None) -> str:
    """A reason for the admin: what HubSpot refused and what to do about it."""
    if isinstance(exc, HubSpotNotConnected):
        return str(exc)
    if isinstance(exc, HubSpotInvalidGrant):
        return "HubSpot no longer accepts this connection's refresh token; connect the portal again."
    if isinstance(exc, HubSpotMissingScopes):
        return f"The portal's token lacks a scope HubSpot needs ({exc}). Connect the portal again."
    if isinstance(exc, HubSpotAuthError):
        if app is not None:
            return (
                f"HubSpot refused the developer API key of app {app.app_id} ({exc}). Check the key "
                "in the app's settings."
            )
        return f"HubSpot refused the portal's access token ({exc}). Connect the portal again."
    if isinstance(exc, HubSpotValidationError):
        return f"HubSpot rejected the request: {exc}"
    return f"HubSpot error: {exc}"


# Registration ---------------------------------------------------------------------------------


def run_registration(connection_id: int, *, listing_checks: int = 0) -> Outcome:
    """One pass of registration. Transient HubSpot errors (RETRYABLE_ERRORS) are raised."""
    connection = Connection.objects.select_related("app", "tenant").filter(pk=connection_id).first()
    reg = ChannelRegistration.objects.filter(connection_id=connection_id).first()
    if connection is None or reg is None or reg.state not in IN_PROGRESS:
        return Outcome(reg.state if reg else "missing")
    try:
        return _register(connection, listing_checks)
    except _Superseded:
        return Outcome(ChannelRegistration.objects.get(connection_id=connection_id).state)
    except RegistrationFailed as exc:
        mark_failed(connection_id, str(exc))
        return Outcome(S.FAILED)
    except RETRYABLE_ERRORS:
        raise
    except Exception as exc:
        mark_failed(connection_id, f"Unexpected error ({type(exc).__name__}); see the worker's log.")
        raise


def _register(connection: Connection, listing_checks: int) -> Outcome:
    app = connection.app
    started = ChannelRegistration.objects.filter(connection=connection, state=S.QUEUED).update(
        state=S.CREATING_CHANNEL, detail="Starting.", updated_at=timezone.now()
    )
    if started:
        _audit(connection, "channel.register", "started", "Registration started.")
    if connection.status == ConnectionStatus.DISCONNECTED or not connection.refresh_token:
        raise RegistrationFailed("The connection is not connected to HubSpot; connect the portal first.")
    if not app.developer_api_key:
        raise RegistrationFailed(
            f"App {app.app_id} has no developer API key; HubSpot needs it to register a custom channel."
        )
    try:
        # Fetched (and refreshed if due) before any row lock is taken, see tokens.py.
        get_access_token(connection.pk)
    except HubSpotError as exc:
        if exc.retryable:
            raise
        raise RegistrationFailed(describe(exc)) from exc

    waiting = listing_checks > 0
    if not waiting:
        _advance(connection.pk, S.CREATING_CHANNEL, "Finding or creating the app's custom channel.")
    try:
        found = ensure_channel(app, HubSpotDeveloperClient.for_app(app))
    except HubSpotError as exc:
        if exc.retryable:
            raise
        raise RegistrationFailed(describe(exc, app)) from exc

    if not found.listed:
        if listing_checks < len(LISTING_COUNTDOWNS):
            countdown = LISTING_COUNTDOWNS[listing_checks]
            _advance(
                connection.pk,
                S.WAITING_FOR_LISTING,
                f"Channel {found.channel_id} {'created' if found.created else 'found'}; waiting for "
                f"HubSpot to list it (check {listing_checks + 1} of {len(LISTING_COUNTDOWNS)}, "
                f"next in {countdown} s).",
            )
            return Outcome(S.WAITING_FOR_LISTING, wait_seconds=countdown)
        logger.warning(
            "HubSpot still does not list channel %s of app %s; connecting inboxes anyway",
            found.channel_id,
            app.app_id,
        )

    _advance(connection.pk, S.CONNECTING_INBOXES, f"Connecting inboxes to channel {found.channel_id}.")
    failures, connected = connect_inboxes(connection, found.channel_id)
    if failures:
        raise RegistrationFailed("Some inboxes could not be connected: " + "; ".join(failures))
    summary = (
        f"Channel {found.channel_id} connected to {connected} inbox{'es' if connected != 1 else ''}."
        if connected
        else f"Channel {found.channel_id} registered; no inbox added yet."
    )
    if found.duplicates:
        summary += f" HubSpot also has duplicate channels {', '.join(found.duplicates)} (left alone)."
    _advance(connection.pk, S.ACTIVE, summary, finished_at=timezone.now(), last_error="")
    _audit(
        connection,
        "channel.register",
        "finished",
        summary,
        details={"channel_id": found.channel_id, "created": found.created, "duplicates": found.duplicates},
    )
    return Outcome(S.ACTIVE)


def ensure_channel(app, dev: HubSpotDeveloperClient) -> ChannelFound:
    """Keep, adopt or create the app's one custom channel, under the app's advisory lock (call it
    outside any transaction: the id must be committed before the next run reads it)."""
    url = channel_webhook_url(app)
    CustomChannel.objects.get_or_create(app=app, defaults={"webhook_url": url})
    with advisory_lock(CHANNEL_LOCK, app.pk):
        channel = CustomChannel.objects.get(app=app)  # read after the lock: a previous run's id
        listed = list(dev.iter_channels())
        listed_ids = {str(c["id"]) for c in listed}
        ours = sorted((str(c["id"]) for c in listed if c.get("webhookUrl") == url), key=int)
        created = False
        remote = None
        if channel.channel_id:
            try:
                remote = dev.get_channel(channel.channel_id)
            except HubSpotNotFound:
                logger.info("Channel %s of app %s is gone at HubSpot", channel.channel_id, app.app_id)
                channel.channel_id = ""
        if not channel.channel_id and ours:
            channel.channel_id = ours[0]
        if not channel.channel_id:
            remote = dev.create_channel(
                CHANNEL_NAME,
                CHANNEL_CAPABILITIES,
                webhook_url=url,
                channel_description=CHANNEL_DESCRIPTION,
            )
            channel.channel_id, created = str(remote["id"]), True
        else:
            if remote is None:
                remote = next((c for c in listed if str(c["id"]) == channel.channel_id), None)
            changes = _channel_changes(remote, url)
            if changes:
                dev.update_channel(channel.channel_id, **changes)
        channel.webhook_url = url
        channel.duplicate_channel_ids = [cid for cid in ours if cid != channel.channel_id]
        channel.save(update_fields=["channel_id", "webhook_url", "duplicate_channel_ids", "updated_at"])
    if created:
        # The listing usually catches up at once; one more read spares a needless wait of seconds.
        listed_ids |= {str(c["id"]) for c in dev.iter_channels()}
    return ChannelFound(
        channel_id=channel.channel_id,
        created=created,
        listed=channel.channel_id in listed_ids,
        duplicates=list(channel.duplicate_channel_ids),
    )


def _channel_changes(remote: dict | None, url: str) -> dict:
    """What an existing channel of ours lacks: the current webhook URL (PUBLIC_BASE_URL changed
    since it was registered) and the delivery identifier types accounts are now created with
    (a channel registered before identifiers declared only email and phone)."""
    if remote is None:
        return {}
    changes: dict = {}
    if remote.get("webhookUrl") != url:
        changes["webhook_url"] = url
    declared = (remote.get("capabilities") or {}).get("deliveryIdentifierTypes") or []
    if any(t not in declared for t in CHANNEL_CAPABILITIES["deliveryIdentifierTypes"]):
        changes["capabilities"] = {
            **(remote.get("capabilities") or {}),
            "deliveryIdentifierTypes": list(
                dict.fromkeys([*declared, *CHANNEL_CAPABILITIES["deliveryIdentifierTypes"]])
            ),
        }
    return changes


def connect_inboxes(connection: Connection, channel_id: str) -> tuple[list[str], int]:
    """Give each inbox of the connection its channel account; returns (failures, connected).

    A permanent failure of one inbox is recorded on it and does not stop the others.
    """
    client = HubSpotClient.for_connection(connection)
    failures: list[str] = []
    connected = 0
    for inbox in connection.inboxes.exclude(state=InboxState.REMOVED).order_by("position", "id"):
        try:
            _connect_inbox(connection, inbox.pk, channel_id, client)
            connected += 1
        except HubSpotError as exc:
            if exc.retryable:
                raise
            reason = describe(exc)
            ConnectedInbox.objects.filter(pk=inbox.pk).update(
                state=InboxState.FAILED, last_error=reason, updated_at=timezone.now()
            )
            failures.append(f"inbox {inbox.inbox_id}: {reason}")
    # Removed inboxes whose account could not be switched off at the time: try again now.
    for inbox in (
        connection.inboxes.filter(state=InboxState.REMOVED)
        .exclude(channel_account_id="")
        .exclude(last_error="")
    ):
        if not deauthorize_account(connection, inbox, client):
            ConnectedInbox.objects.filter(pk=inbox.pk).update(last_error="", updated_at=timezone.now())
    return failures, connected


def _connect_inbox(connection: Connection, inbox_pk: int, channel_id: str, client: HubSpotClient) -> None:
    """Make sure the inbox has our channel account with its delivery identifier.

    HubSpot cannot add an identifier to an existing account (the update body has only `name` and
    `authorized`), so an account made before identifiers is replaced: the new one is created, then
    the old one is switched off (`authorized=false`, its threads stay readable). Found by its
    identifier, the new account is reused by every later run, so reruns create nothing.
    """
    with advisory_lock(INBOX_LOCK, inbox_pk):
        inbox = ConnectedInbox.objects.filter(pk=inbox_pk).first()
        if inbox is None or inbox.state == InboxState.REMOVED:
            return
        wanted = account_identifier(connection.app.app_id, connection.portal_id, inbox.inbox_id)
        account = None
        if inbox.channel_account_id:
            try:
                account = client.get_channel_account(channel_id, inbox.channel_account_id)
            except HubSpotNotFound:
                account = None
            if account is not None and not _is_ours(account, inbox.inbox_id, wanted):
                account = None
        inbox_accounts = None
        if account is None:
            inbox_accounts = _inbox_accounts(client, channel_id, inbox.inbox_id)
            account = next((a for a in inbox_accounts if _is_ours(a, inbox.inbox_id, wanted)), None)
        if account is None:
            account = client.create_channel_account(
                channel_id,
                name=f"{connection.tenant.name} HITL"[:200],
                inbox_id=inbox.inbox_id,
                authorized=True,
                delivery_identifier=wanted,
            )
        elif not account.get("authorized", True):
            account = client.update_channel_account(channel_id, account["id"], authorized=True)
        previous = inbox.channel_account_id
        inbox.channel_account_id = str(account["id"])
        inbox.delivery_identifier = wanted["value"]
        now = timezone.now()
        # Conditional: `remove_inbox` may have removed the inbox while HubSpot answered.
        recorded = (
            ConnectedInbox.objects.filter(pk=inbox_pk)
            .exclude(state=InboxState.REMOVED)
            .update(
                channel_account_id=inbox.channel_account_id,
                delivery_identifier=inbox.delivery_identifier,
                state=InboxState.ACTIVE,
                last_error="",
                connected_at=Coalesce(F("connected_at"), now),
                updated_at=now,
            )
        )
        if not recorded:
            _switch_off_for_removed_inbox(connection, inbox, client)
            return
    # After the new id is committed: HubSpot's CHANNEL_ACCOUNT_UPDATED(authorized=false) for the
    # old account must not find the inbox still pointing at it (and mark the inbox failed).
    replaced = _retire_superseded(client, channel_id, inbox.inbox_id, previous, account, inbox_accounts)
    if replaced:
        _audit(
            connection,
            "channel.register",
            "account_replaced",
            f"Inbox {inbox.inbox_id}: channel account {account['id']} (delivery identifier "
            f"{wanted['value']}) replaces {', '.join(replaced)}, now switched off.",
            details={"inbox_id": inbox.inbox_id, "account_id": str(account["id"]), "replaced": replaced},
        )


def _switch_off_for_removed_inbox(connection, inbox: ConnectedInbox, client: HubSpotClient) -> None:
    """The inbox was removed while its account was being found or created: switch that account off
    too (`remove_inbox` only knew the previous one). A failure is kept in `last_error`, which the
    next registration run retries (see `connect_inboxes`)."""
    error = deauthorize_account(connection, inbox, client)
    ConnectedInbox.objects.filter(pk=inbox.pk, state=InboxState.REMOVED).update(
        channel_account_id=inbox.channel_account_id,
        last_error=f"Could not switch the channel account off at HubSpot: {error}" if error else "",
        updated_at=timezone.now(),
    )


def _is_ours(account: dict, inbox_id: int, wanted: dict) -> bool:
    return (
        str(account.get("inboxId")) == str(inbox_id)
        and not account.get("archived")
        and (account.get("deliveryIdentifier") or {}) == wanted
    )


def _inbox_accounts(client: HubSpotClient, channel_id: str, inbox_id: int) -> list[dict]:
    """Our channel's accounts in this inbox (the listing is scoped to the token's portal), the
    authorized ones first, then the oldest."""
    accounts = [
        a
        for a in client.iter_channel_accounts(channel_id)
        if str(a.get("inboxId")) == str(inbox_id) and not a.get("archived")
    ]
    accounts.sort(key=lambda a: (not a.get("authorized", True), int(a["id"])))
    return accounts


def _retire_superseded(
    client: HubSpotClient,
    channel_id: str,
    inbox_id: int,
    previous_id: str,
    account: dict,
    inbox_accounts: list[dict] | None,
) -> list[str]:
    """Switch off our channel's other authorized accounts in this inbox (made before delivery
    identifiers, or under an identifier we no longer derive): one live account per inbox."""
    if inbox_accounts is None:
        if not previous_id or previous_id == str(account["id"]):
            return []
        inbox_accounts = _inbox_accounts(client, channel_id, inbox_id)
    retired = []
    for other in inbox_accounts:
        if str(other["id"]) == str(account["id"]) or not other.get("authorized", True):
            continue
        try:
            client.update_channel_account(channel_id, other["id"], authorized=False)
        except HubSpotNotFound:
            continue
        retired.append(str(other["id"]))
    return retired


# Unregistration -------------------------------------------------------------------------------


def run_unregistration(connection_id: int) -> Outcome:
    """Switch off our channel accounts of this connection's inboxes, and delete the app's channel
    when no other registered connection uses it. Touches nothing we did not create or adopt."""
    connection = Connection.objects.select_related("app", "tenant").filter(pk=connection_id).first()
    reg = ChannelRegistration.objects.filter(connection_id=connection_id).first()
    if connection is None or reg is None or reg.state != S.UNREGISTERING:
        return Outcome(reg.state if reg else "missing")
    try:
        return _unregister(connection)
    except _Superseded:
        return Outcome(ChannelRegistration.objects.get(connection_id=connection_id).state)
    except RegistrationFailed as exc:
        mark_failed(connection_id, str(exc), action="channel.unregister")
        return Outcome(S.FAILED)
    except RETRYABLE_ERRORS:
        raise
    except Exception as exc:
        mark_failed(
            connection_id,
            f"Unexpected error ({type(exc).__name__}); see the worker's log.",
            action="channel.unregister",
        )
        raise


def _unregister(connection: Connection) -> Outcome:
    _audit(connection, "channel.unregister", "started", "Unregistration started.")
    only = (S.UNREGISTERING,)
    _advance(connection.pk, S.UNREGISTERING, "Switching off channel accounts.", allowed=only)
    problems = _deauthorize_all(connection)
    _advance(connection.pk, S.UNREGISTERING, "Removing the channel if no one else uses it.", allowed=only)
    failure = "Could not switch off every channel account: " + "; ".join(problems) if problems else ""
    deleted = _release_channel(connection, failure)
    if failure and not deleted:
        _audit(connection, "channel.unregister", "failed", failure, failed=True)
        return Outcome(S.FAILED)
    message = "Channel accounts switched off" + ("; the app's channel was deleted." if deleted else ".")
    _audit(connection, "channel.unregister", "finished", message, details={"channel_deleted": deleted})
    return Outcome(S.UNREGISTERED)


def _deauthorize_all(connection: Connection) -> list[str]:
    inboxes = list(connection.inboxes.exclude(channel_account_id=""))
    channel = CustomChannel.objects.filter(app_id=connection.app_id).exclude(channel_id="").first()
    if not inboxes or channel is None:
        return []
    if connection.status == ConnectionStatus.DISCONNECTED or not connection.refresh_token:
        return ["the connection is disconnected, so HubSpot cannot be asked on its behalf"]
    client = HubSpotClient.for_connection(connection)
    problems = []
    for inbox in inboxes:
        try:
            client.update_channel_account(channel.channel_id, inbox.channel_account_id, authorized=False)
        except HubSpotNotFound:
            pass
        except HubSpotError as exc:
            if exc.retryable:
                raise
            problems.append(f"inbox {inbox.inbox_id}: {describe(exc)}")
            continue
        if inbox.state != InboxState.REMOVED:
            ConnectedInbox.objects.filter(pk=inbox.pk).update(
                state=InboxState.PENDING, updated_at=timezone.now()
            )
    return problems


def _release_channel(connection: Connection, failure: str) -> bool:
    """Delete the app's channel if no other connection is registered on it; mark this one
    UNREGISTERED (or FAILED with `failure` when accounts are left on a channel that stays) before
    the app's advisory lock is released, so two connections unregistering at once cannot each
    leave the channel to the other (the second one sees the first one unregistered)."""
    app = connection.app
    with advisory_lock(CHANNEL_LOCK, app.pk):
        channel = CustomChannel.objects.filter(app=app).first()
        if not ChannelRegistration.objects.filter(connection=connection, state=S.UNREGISTERING).exists():
            raise _Superseded
        in_use = (
            ChannelRegistration.objects.filter(connection__app=app)
            .exclude(connection=connection)
            .exclude(state__in=(S.UNREGISTERED, S.UNREGISTERING))
            .exists()
        )
        deleted = False
        if channel is not None and channel.channel_id and not in_use:
            try:
                HubSpotDeveloperClient.for_app(app).delete_channel(channel.channel_id)
            except HubSpotNotFound:
                pass
            except HubSpotError as exc:
                if exc.retryable:
                    raise
                raise RegistrationFailed(describe(exc, app)) from exc
            with transaction.atomic():
                CustomChannel.objects.filter(pk=channel.pk).update(channel_id="", updated_at=timezone.now())
                # Its accounts went with it (other connections' rows are corrected by their next run).
                ConnectedInbox.objects.filter(connection=connection).update(
                    channel_account_id="", updated_at=timezone.now()
                )
            deleted = True
        if failure and not deleted:
            fields = {"state": S.FAILED, "detail": failure[:500], "last_error": failure}
        else:
            detail = "Not registered." + (" The app's channel was deleted at HubSpot." if deleted else "")
            fields = {"state": S.UNREGISTERED, "detail": detail, "last_error": ""}
        ChannelRegistration.objects.filter(connection=connection, state=S.UNREGISTERING).update(
            finished_at=timezone.now(), updated_at=timezone.now(), **fields
        )
    return deleted


# In-process runner ----------------------------------------------------------------------------


def register_now(
    connection_id: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_transient_retries: int = 2,
) -> ChannelRegistration:
    """Run a queued registration to its end in this process (the provisioning command), waiting
    out HubSpot's listing delay and transient errors like the task would. Returns the row."""
    checks = failures = 0
    while True:
        try:
            outcome = run_registration(connection_id, listing_checks=checks)
        except RETRYABLE_ERRORS as exc:
            if failures >= max_transient_retries:
                mark_failed(connection_id, f"HubSpot kept failing ({exc}); try again later.")
                break
            failures += 1
            countdown = min(transient_countdown(failures - 1, exc.retry_after), 30)
            note_retry(connection_id, exc, countdown, failures, max_transient_retries)
            sleep(countdown)
            continue
        if not outcome.wait_seconds:
            break
        checks += 1
        sleep(outcome.wait_seconds)
    return ChannelRegistration.objects.get(connection_id=connection_id)
