""" "Check health": does everything a connection relies on still hold at HubSpot?

Each check asks HubSpot one question and answers `ok` True (fine), False (a problem, with a message
saying what to do) or None (could not be checked, or not tracked yet). HubSpot errors become
failed checks; `check_health` itself never raises on them, since it is what an admin runs when
something is already wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from connections.consent import REQUIRED_SCOPES
from connections.hubspot import (
    HubSpotClient,
    HubSpotDeveloperClient,
    HubSpotError,
    HubSpotNotFound,
    OAuthClient,
)
from connections.hubspot.tokens import get_access_token
from connections.models import (
    ChannelRegistration,
    ConnectionStatus,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from connections.webhook_setup import REQUIRED_SUBSCRIPTIONS
from connections.webhook_urls import app_webhook_url, channel_webhook_url
from core import audit
from core.models import AuditLogEntry


def _check(name: str, label: str, ok: bool | None, message: str, **details) -> dict:
    return {"name": name, "label": label, "ok": ok, "message": message, "details": details}


def _guarded(name: str, label: str, run: Callable[[], dict]) -> dict:
    try:
        return run()
    except HubSpotError as exc:
        return _check(name, label, False, f"HubSpot answered with an error: {exc}")


def check_health(connection, *, actor=None) -> dict:
    """`{"ok", "checked_at", "checks": [{"name", "label", "ok", "message", "details"}],
    "last_webhook_received_at"}`; `ok` is False if any check is False."""
    info: dict = {}
    checks = [_guarded("token", "Access token", lambda: _token(connection, info))]
    checks.append(_scopes(info))
    channel = CustomChannel.objects.filter(app_id=connection.app_id).first()
    checks.append(_guarded("channel", "Custom channel", lambda: _channel(connection.app, channel)))
    channel_ok = checks[-1]["ok"]
    client = HubSpotClient.for_connection(connection) if info.get("token_ok") else None
    for inbox in connection.inboxes.exclude(state=InboxState.REMOVED).order_by("position", "id"):
        name, label = f"inbox:{inbox.inbox_id}", f"Inbox {inbox.name or inbox.inbox_id}"
        checks.append(
            _guarded(
                name, label, lambda i=inbox, n=name, lb=label: _inbox(i, n, lb, channel, channel_ok, client)
            )
        )
    checks.append(_registration(connection))
    checks.append(_guarded("webhooks", "App webhooks", lambda: _webhooks(connection.app)))
    last_webhook_received_at = _last_webhook_at(connection)
    if last_webhook_received_at is None:
        message = "No signed webhook from HubSpot for this portal yet (normal until the first conversation)."
    else:
        message = f"Last signed webhook for this portal at {last_webhook_received_at:%Y-%m-%d %H:%M:%S %Z}."
    checks.append(
        _check(
            "last_webhook",
            "Last webhook received",
            None if last_webhook_received_at is None else True,
            message,
            received_at=last_webhook_received_at.isoformat() if last_webhook_received_at else None,
        )
    )
    report = {
        "ok": all(c["ok"] is not False for c in checks),
        "checked_at": timezone.now().isoformat(),
        "checks": checks,
        "last_webhook_received_at": last_webhook_received_at,
    }
    problems = [f"{c['label']}: {c['message']}" for c in checks if c["ok"] is False]
    audit.record(
        "connection.health_check",
        actor=actor,
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.SUCCESS if report["ok"] else AuditLogEntry.Outcome.FAILURE,
        message="; ".join(problems) or "All checks passed.",
        details={"failed": [c["name"] for c in checks if c["ok"] is False]},
    )
    return report


def _token(connection, info: dict) -> dict:
    name, label = "token", "Access token"
    if connection.status == ConnectionStatus.DISCONNECTED or not connection.refresh_token:
        return _check(name, label, False, "Not connected. Connect the portal to HubSpot.")
    token = get_access_token(connection.pk)
    token_info = OAuthClient.for_app(connection.app).token_info(token)
    info.update(token_ok=True, scopes=set(token_info.scopes))
    if connection.portal_id and token_info.hub_id != connection.portal_id:
        return _check(
            name, label, False, f"The token is for portal {token_info.hub_id}, not {connection.portal_id}."
        )
    minutes = (token_info.expires_in or 0) // 60
    return _check(
        name,
        label,
        True,
        f"Valid for {minutes} more minutes (portal {token_info.hub_id}, installed by {token_info.user}).",
        expires_in=token_info.expires_in,
        hub_id=token_info.hub_id,
        user=token_info.user,
    )


def _scopes(info: dict) -> dict:
    name, label = "scopes", "Scopes"
    if "scopes" not in info:
        return _check(name, label, None, "Not checked: the access token could not be read.")
    missing = [s for s in REQUIRED_SCOPES if s not in info["scopes"]]
    if missing:
        return _check(
            name,
            label,
            False,
            f"Missing {', '.join(missing)}. Connect the portal again and approve them.",
            scopes=sorted(info["scopes"]),
            missing=missing,
        )
    return _check(
        name, label, True, "All required scopes granted.", scopes=sorted(info["scopes"]), missing=[]
    )


def _channel(app, channel) -> dict:
    name, label = "channel", "Custom channel"
    if channel is None or not channel.channel_id:
        return _check(name, label, False, "Not registered. Register the channel.")
    try:
        remote = HubSpotDeveloperClient.for_app(app).get_channel(channel.channel_id)
    except HubSpotNotFound:
        return _check(
            name,
            label,
            False,
            f"Channel {channel.channel_id} no longer exists at HubSpot. Register the channel again.",
        )
    duplicates = list(channel.duplicate_channel_ids)
    if remote.get("webhookUrl") != channel_webhook_url(app):
        return _check(
            name,
            label,
            False,
            f"Channel {channel.channel_id} sends events to {remote.get('webhookUrl') or 'nowhere'}, not to "
            "this portal. Register the channel again.",
            channel_id=channel.channel_id,
        )
    message = f"Channel {channel.channel_id} exists."
    if duplicates:
        message += f" HubSpot also has duplicates with our URL: {', '.join(duplicates)}."
    return _check(name, label, True, message, channel_id=channel.channel_id, duplicates=duplicates)


def _inbox(inbox, name, label, channel, channel_ok, client) -> dict:
    if not inbox.channel_account_id:
        return _check(
            name, label, False, f"Not connected yet ({inbox.get_state_display()}). Register the channel."
        )
    if not channel_ok or client is None:
        return _check(name, label, None, "Not checked: the channel or the token has a problem.")
    try:
        account = client.get_channel_account(channel.channel_id, inbox.channel_account_id)
    except HubSpotNotFound:
        return _check(
            name,
            label,
            False,
            f"Channel account {inbox.channel_account_id} no longer exists. Register the channel again.",
        )
    if not account.get("authorized"):
        return _check(
            name,
            label,
            False,
            f"Channel account {inbox.channel_account_id} is switched off. Register the channel again.",
            channel_account_id=inbox.channel_account_id,
        )
    return _check(
        name,
        label,
        True,
        f"Channel account {inbox.channel_account_id} is connected.",
        channel_account_id=inbox.channel_account_id,
    )


def _registration(connection) -> dict:
    reg = ChannelRegistration.objects.filter(connection=connection).first()
    state = reg.state if reg else RegistrationState.UNREGISTERED
    ok = {RegistrationState.ACTIVE: True, RegistrationState.FAILED: False}.get(state)
    label = RegistrationState(state).label
    message = f"{label}: {reg.detail}" if reg and reg.detail else label
    return _check("registration", "Channel registration", ok, message, state=state)


def _webhooks(app) -> dict:
    name, label = "webhooks", "App webhooks"
    if not app.developer_api_key:
        return _check(name, label, None, "Not checked: the app has no developer API key.")
    dev = HubSpotDeveloperClient.for_app(app)
    try:
        target = dev.get_webhook_settings().get("targetUrl")
    except HubSpotNotFound:
        target = None
    active = {
        (s.get("eventType"), s.get("propertyName") or "") for s in dev.list_subscriptions() if s.get("active")
    }
    missing = [s.label for s in REQUIRED_SUBSCRIPTIONS if (s.event_type, s.property_name) not in active]
    problems = []
    if target != app_webhook_url(app):
        problems.append(f"target URL is {target or 'not set'}")
    if missing:
        problems.append(f"missing or inactive: {', '.join(missing)}")
    if problems:
        summary = "; ".join(problems)
        return _check(
            name,
            label,
            False,
            summary[:1].upper() + summary[1:] + ". Set up the webhooks again.",
            target_url=target,
            missing=missing,
        )
    return _check(
        name, label, True, "Target URL and subscriptions are in place.", target_url=target, missing=[]
    )


def _last_webhook_at(connection):
    """When a correctly signed HubSpot event for this portal last arrived (a shared app carries
    many portals, so the app's last receipt alone would not say this portal is reached)."""
    from conversations.models import HubSpotEvent

    return (
        HubSpotEvent.objects.filter(app_id=connection.app_id, portal_id=connection.portal_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
