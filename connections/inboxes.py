"""The HubSpot inboxes a connection hands conversations to: picking, pasting, adding, removing.

Admins either pick from the portal's inbox list or paste what they have at hand: the inbox ID or
the address of the inbox's settings page in HubSpot (the old integration made people dig the ID out
of that URL by hand). Channel accounts are created by the registration
task, not here; removing an inbox switches its account off at HubSpot right away.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from connections.hubspot import HubSpotClient, HubSpotError, HubSpotNotFound
from connections.models import ConnectedInbox, CustomChannel, InboxState
from core import audit
from core.models import AuditLogEntry

_MAX_ID = 2**63 - 1
# …/live-messages-settings/<portal>/inboxes/<inbox>/… (also help-desk and regional app hosts).
_INBOXES_PATH = re.compile(r"/inboxes/(\d+)(?:/|$)")
_PORTAL_PATH = re.compile(r"^/[a-z-]+/(\d+)/")
# …/live-messages/<portal>/inbox/<thread>: a conversation, easily mistaken for an inbox.
_THREAD_PATH = re.compile(r"/inbox/(\d+)(?:/|$)")

HOW_TO_FIND = (
    "Paste the inbox ID, or the address of the inbox's settings page in HubSpot "
    "(Settings → Inbox → Inboxes, e.g. https://app.hubspot.com/live-messages-settings/123456/"
    "inboxes/1263703960/channels)."
)


def _checked(value: str) -> int:
    number = int(value)
    if number <= 0 or number > _MAX_ID:
        raise ValueError(f"{value} is not a valid HubSpot inbox ID. {HOW_TO_FIND}")
    return number


def parse_inbox_reference(text: str, *, portal_id: int | None = None) -> int:
    """The inbox ID in `text`: a bare ID or a HubSpot inbox settings URL.

    With `portal_id`, a URL of another HubSpot portal is refused (its inbox cannot be ours).
    Raises ValueError with a message written for the person who pasted it.
    """
    value = (text or "").strip()
    if not value:
        raise ValueError(f"No inbox given. {HOW_TO_FIND}")
    if value.isdigit():
        return _checked(value)
    if "://" not in value and "/" in value:
        value = "https://" + value
    parts = urlsplit(value)
    if not parts.netloc:
        raise ValueError(
            f"“{text.strip()[:100]}” is neither an inbox ID nor a HubSpot address. {HOW_TO_FIND}"
        )
    match = _INBOXES_PATH.search(parts.path)
    if match is None:
        query_id = parse_qs(parts.query).get("inboxId", [""])[0]
        if query_id.isdigit():
            return _checked(query_id)
        if _THREAD_PATH.search(parts.path):
            raise ValueError("This is the address of a conversation, not of an inbox. " + HOW_TO_FIND)
        raise ValueError(f"No inbox ID found in this address. {HOW_TO_FIND}")
    url_portal = _PORTAL_PATH.match(parts.path)
    if portal_id is not None and url_portal and int(url_portal.group(1)) != int(portal_id):
        raise ValueError(
            f"This address belongs to HubSpot portal {url_portal.group(1)}, but this connection is "
            f"portal {portal_id}. Open the inbox settings of portal {portal_id} instead."
        )
    return _checked(match.group(1))


def available_inboxes(connection) -> list[dict]:
    """The portal's inboxes as HubSpot lists them (every page): [{"id", "name", "type"}].

    HubSpot errors are raised (HubSpotError): the caller shows them next to the picker.
    """
    client = HubSpotClient.for_connection(connection)
    return [
        {"id": int(inbox["id"]), "name": inbox.get("name", ""), "type": inbox.get("type", "")}
        for inbox in client.iter_inboxes()
    ]


def _lookup_name(connection, inbox_id: int) -> str | None:
    """The inbox's name at HubSpot; None when HubSpot cannot be asked right now.

    Raises ValueError when HubSpot answers and the portal has no such inbox.
    """
    try:
        for inbox in available_inboxes(connection):
            if inbox["id"] == inbox_id:
                return inbox["name"]
    except HubSpotError:
        # Validation is a convenience: an unreachable HubSpot must not block configuring the
        # inbox; the registration task reports a wrong ID when it connects the account.
        return None
    raise ValueError(
        f"HubSpot portal {connection.portal_id} has no inbox {inbox_id} (or it is archived). "
        "Pick one from the list, or check the ID."
    )


def add_inbox(connection, inbox_id: int, *, actor=None, name: str = "") -> ConnectedInbox:
    """Use `inbox_id` for escalations of this connection. Idempotent; re-adds a removed inbox.

    Raises ValueError when HubSpot says the inbox does not exist in the portal. The channel
    account is connected by the next registration run (`registration.request_registration`).
    """
    inbox_id = _checked(str(inbox_id))
    found_name = _lookup_name(connection, inbox_id)
    name = name or found_name or ""
    try:
        with transaction.atomic():
            inbox, created = ConnectedInbox.objects.select_for_update().get_or_create(
                connection=connection,
                inbox_id=inbox_id,
                defaults={"name": name, "position": _next_position(connection)},
            )
            changed = []
            if not created and inbox.state == InboxState.REMOVED:
                inbox.state, inbox.last_error = InboxState.PENDING, ""
                changed += ["state", "last_error"]
            if name and inbox.name != name:
                inbox.name = name
                changed.append("name")
            if changed:
                inbox.save(update_fields=[*changed, "updated_at"])
    except IntegrityError:
        # A concurrent add of the same inbox won the insert; it is there now.
        inbox, created, changed = (
            ConnectedInbox.objects.get(connection=connection, inbox_id=inbox_id),
            False,
            [],
        )
    if created or changed:
        audit.record(
            "connection.inbox_add",
            actor=actor,
            tenant=connection.tenant,
            target=connection,
            message=f"Inbox {inbox_id} ({inbox.name or 'unnamed'}) added.",
            details={"inbox_id": inbox_id, "validated": found_name is not None},
        )
    return inbox


def _next_position(connection) -> int:
    top = ConnectedInbox.objects.filter(connection=connection).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def remove_inbox(connection, inbox_id: int, *, actor=None) -> ConnectedInbox | None:
    """Stop using the inbox: its channel account is deauthorized at HubSpot and it is marked removed.

    HubSpot errors are not raised: the inbox is removed here either way, and a failed
    deauthorization is kept in `last_error` and the audit log (the next registration run retries
    it). Returns the inbox, or None if this connection never had it.
    """
    from core.db import row_locking

    # Marked removed under the lock the registration task takes to "find or create the account", so
    # a run connecting this inbox right now cannot mark it active again; HubSpot is called after
    # the commit (no HTTP call while the row is locked).
    with row_locking():
        inbox = (
            ConnectedInbox.objects.select_for_update()
            .filter(connection=connection, inbox_id=inbox_id)
            .first()
        )
        if inbox is None:
            return None
        inbox.state, inbox.last_error = InboxState.REMOVED, ""
        inbox.save(update_fields=["state", "last_error", "updated_at"])
    error = deauthorize_account(connection, inbox)
    if error:
        inbox.last_error = f"Could not switch the channel account off at HubSpot: {error}"
        ConnectedInbox.objects.filter(pk=inbox.pk, state=InboxState.REMOVED).update(
            last_error=inbox.last_error, updated_at=timezone.now()
        )
    audit.record(
        "connection.inbox_remove",
        actor=actor,
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.FAILURE if error else AuditLogEntry.Outcome.SUCCESS,
        message=f"Inbox {inbox_id} removed." + (f" {inbox.last_error}" if error else ""),
        details={"inbox_id": inbox_id, "channel_account_id": inbox.channel_account_id},
    )
    return inbox


def deauthorize_account(connection, inbox: ConnectedInbox, client: HubSpotClient | None = None) -> str:
    """PATCH our channel account of `inbox` to authorized=false; "" when done or nothing to do,
    else the reason. An account HubSpot no longer has counts as done."""
    channel = CustomChannel.objects.filter(app_id=connection.app_id).exclude(channel_id="").first()
    if not inbox.channel_account_id or channel is None:
        return ""
    try:
        (client or HubSpotClient.for_connection(connection)).update_channel_account(
            channel.channel_id, inbox.channel_account_id, authorized=False
        )
    except HubSpotNotFound:
        return ""
    except HubSpotError as exc:
        return str(exc)
    return ""
