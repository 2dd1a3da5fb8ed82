"""What the panels of a connection's admin page show, and the JSON its registration panel polls.

The page and the poll read the same `status_payload`, so a plain reload and the live updates
always agree. Nothing here writes or calls HubSpot except `available_inboxes`, which only the
full page asks for (the poll stays cheap: a constant handful of queries).
"""

from django.urls import reverse

from connections import inboxes as inbox_service
from connections import readiness, webhook_setup, webhook_urls
from connections.hubspot.errors import HubSpotError
from connections.models import (
    ChannelRegistration,
    Connection,
    ConnectionStatus,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from core.models import AuditLogEntry

IN_PROGRESS = frozenset(
    {
        RegistrationState.QUEUED,
        RegistrationState.CREATING_CHANNEL,
        RegistrationState.WAITING_FOR_LISTING,
        RegistrationState.CONNECTING_INBOXES,
        RegistrationState.UNREGISTERING,
    }
)
REGISTRATION_TONES = {RegistrationState.ACTIVE: "ok", RegistrationState.FAILED: "bad"}
INBOX_TONES = {InboxState.ACTIVE: "ok", InboxState.FAILED: "bad", InboxState.PENDING: "busy"}
RECENT_AUDIT_ENTRIES = 8


def registration_of(connection: Connection) -> ChannelRegistration:
    try:
        return connection.registration
    except ChannelRegistration.DoesNotExist:
        # Connections made before registration rows existed: show them as never registered.
        return ChannelRegistration(connection=connection)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def status_payload(connection: Connection) -> dict:
    """Registration progress, the channel and each inbox's state, as JSON-ready data."""
    registration = registration_of(connection)
    channel = CustomChannel.objects.filter(app_id=connection.app_id).first()
    state = RegistrationState(registration.state)
    in_progress = state in IN_PROGRESS
    return {
        "registration": {
            "state": state.value,
            "label": state.label,
            "tone": "busy" if in_progress else REGISTRATION_TONES.get(state, "idle"),
            "in_progress": in_progress,
            "registered": state not in (RegistrationState.UNREGISTERED,),
            "detail": registration.detail,
            "last_error": registration.last_error,
            "requested_at": _iso(registration.requested_at),
            "finished_at": _iso(registration.finished_at),
        },
        "channel": {
            "channel_id": channel.channel_id if channel else "",
            "duplicates": list(channel.duplicate_channel_ids) if channel else [],
        },
        "inboxes": [
            {
                "inbox_id": inbox.inbox_id,
                "name": inbox.name,
                "state": inbox.state,
                "label": InboxState(inbox.state).label,
                "tone": INBOX_TONES.get(inbox.state, "idle"),
                "channel_account_id": inbox.channel_account_id,
                "last_error": inbox.last_error,
            }
            for inbox in connection.inboxes.exclude(state=InboxState.REMOVED).order_by("position", "id")
        ],
    }


def _available_inboxes(connection: Connection, connected_ids: set[int]) -> tuple[list[dict], str]:
    """HubSpot's inboxes for the portal not connected yet, or an error to show instead."""
    if connection.status != ConnectionStatus.ACTIVE:
        return [], ""  # the panel says to reconnect; asking HubSpot would only fail
    try:
        listed = inbox_service.available_inboxes(connection)
    except HubSpotError as exc:
        return [], f"HubSpot did not list the portal's inboxes: {exc}"
    return [inbox for inbox in listed if int(inbox["id"]) not in connected_ids], ""


def _webhooks(connection: Connection, *, can_change_app: bool) -> dict:
    app = connection.app
    last = (
        AuditLogEntry.objects.filter(
            target_type=app._meta.label, target_id=str(app.pk), action="app.webhooks"
        )
        .only("outcome", "message", "created_at")
        .first()
    )
    return {
        "expected": webhook_setup.expected_config(app),
        "app_webhook_url": webhook_urls.app_webhook_url(app),
        "channel_webhook_url": webhook_urls.channel_webhook_url(app),
        "has_developer_api_key": bool(app.developer_api_key),
        "can_set_up": can_change_app,
        "last": last,
        # Manual instructions stay open until an automatic set-up is known to have worked.
        "show_manual": last is None or last.outcome != AuditLogEntry.Outcome.SUCCESS,
    }


def console(connection: Connection, *, can_change: bool, can_change_app: bool) -> dict:
    """Context of the change page's panels."""
    status = status_payload(connection)
    connected_ids = {inbox["inbox_id"] for inbox in status["inboxes"]}
    available, inbox_error = _available_inboxes(connection, connected_ids) if can_change else ([], "")
    target = {"target_type": connection._meta.label, "target_id": str(connection.pk)}
    return {
        "status": status,
        "status_url": reverse("admin:connections_connection_status", args=[connection.pk]),
        "can_change": can_change,
        "available_inboxes": available,
        "inbox_error": inbox_error,
        "pending_inboxes": any(inbox["state"] == InboxState.PENDING for inbox in status["inboxes"]),
        "webhooks": _webhooks(connection, can_change_app=can_change_app),
        "readiness": readiness.readiness(connection, can_set_up_webhooks=can_change_app),
        "api_keys": list(connection.api_keys.select_related("created_by")),
        # `only` keeps the encrypted column out of the query: the page never holds a secret.
        "callback_secrets": list(connection.callback_secrets.only("id", "created_at", "retired_at")),
        "recent_audit": list(AuditLogEntry.objects.filter(**target)[:RECENT_AUDIT_ENTRIES]),
        "audit_url": reverse("admin:core_auditlogentry_changelist")
        + f"?target_type={target['target_type']}&target_id={target['target_id']}",
    }
