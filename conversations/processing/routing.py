"""Which connection and escalation an event belongs to.

A shared platform app posts the events of every portal that installed it to one URL, so the
connection is found by (app, portalId), which the Connection model keeps unique. Escalations are
looked up only within that connection: another tenant's thread id never matches.
"""

from __future__ import annotations

from connections.models import Connection
from conversations.models import Escalation, HubSpotEvent


def connection_for(event: HubSpotEvent) -> Connection | None:
    if event.portal_id is None:
        return connection_by_channel_account(event)
    return (
        Connection.objects.select_related("app")
        .filter(app_id=event.app_id, portal_id=event.portal_id)
        .first()
    )


def connection_by_channel_account(event: HubSpotEvent) -> Connection | None:
    """A custom-channel webhook without `portalId` names its `channelAccountId`: our channel
    accounts are ours alone (one per connected inbox), so the account finds the connection."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    account_id = str(payload.get("channelAccountId") or message.get("channelAccountId") or "")
    if not account_id:
        return None
    return (
        Connection.objects.select_related("app")
        .filter(app_id=event.app_id, inboxes__channel_account_id=account_id)
        .first()
    )


def _as_of(rows, at):
    """The newest of `rows` started by `at`, else the newest. Under the reopen policy
    "same_thread" several escalations share one HubSpot thread (and integrationThreadId): a late
    or replayed event of the earlier one must not land on the one that reopened the thread.
    One query: a thread has a handful of escalations at most."""
    found = list(rows.order_by("-created_at")[:20])
    if at is not None:
        for esc in found:
            if esc.created_at <= at:
                return esc
    return found[0] if found else None


def escalation_by_thread(connection: Connection, thread_id, at=None) -> Escalation | None:
    if not thread_id:
        return None
    return _as_of(Escalation.objects.filter(connection=connection, hubspot_thread_id=str(thread_id)), at)


def escalation_for_channel_message(connection: Connection, payload: dict, at=None) -> Escalation | None:
    """Our `integrationThreadId` echoed in `channelIntegrationThreadIds` first (contract §5.4), then
    HubSpot's thread id: the former works even before the publish response told us the thread."""
    ids = [str(i) for i in payload.get("channelIntegrationThreadIds") or [] if i]
    if ids:
        found = _as_of(Escalation.objects.filter(connection=connection, integration_thread_id__in=ids), at)
        if found:
            return found
    message = payload.get("message") or {}
    return escalation_by_thread(connection, message.get("conversationsThreadId"), at)


def escalation_with_connection(event: HubSpotEvent) -> Escalation | None:
    """An agent's reply names our `integrationThreadId` and its portal: the escalation and its
    connection (with the app) in one query, instead of the connection first and then the
    escalation within it. Same rule: the connection of (app, portal), the escalation as of the
    event's time (`_as_of`). None when that does not find one (the caller routes step by step)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    ids = [str(i) for i in payload.get("channelIntegrationThreadIds") or [] if i]
    if event.portal_id is None or not ids:
        return None
    rows = (
        Escalation.objects.select_related("connection__app")
        .filter(
            connection__app_id=event.app_id,
            connection__portal_id=event.portal_id,
            integration_thread_id__in=ids,
        )
        # What routing and the reply's handler read before the lifecycle locks (and re-reads) the
        # row: not the other ~40 columns, nor the connection's tokens and the app's secrets, which
        # would be decrypted for nothing (a column left out is read if something asks for it).
        .only(*ROUTED_FIELDS)
    )
    return _as_of(rows, event.occurred_at or event.created_at)


ROUTED_FIELDS = (
    "connection__tenant_id",
    "connection__portal_id",
    "connection__status",
    "connection__app__app_id",
    "connection__app__tenant_id",
    "connection__app__kind",
    "inbox_id",
    "conversation_id",
    "status",
    "callback_url",
    "integration_thread_id",
    "hubspot_thread_id",
    "agent_actor_id",
    "agent_name",
    "agent_email",
    "assignment_changed_at",
    "created_at",
    "closed_at",
    "failed_at",
)
