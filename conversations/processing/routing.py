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
