""" "Check health" and `manage.py hubspot_doctor`: does everything a connection relies on still
hold at HubSpot? One implementation for both.

Each check asks HubSpot one question and answers `ok` True (fine), False (a problem: `message` says
what is wrong, `fix` what to do) or None (could not be checked, or not tracked yet). HubSpot errors
become failed checks; nothing here raises on them, since it is what an admin runs when something
is already wrong. The steps, in order: the token (refreshed on request, then introspected), the
granted scopes against the app's, the channel and its capabilities, each inbox's channel account
and its delivery identifier, the registration, the app's webhook target URL and subscriptions,
and the last signed webhook received. `publish_test` adds a round trip through a real thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.utils import timezone

from connections.hubspot import (
    HubSpotClient,
    HubSpotDeveloperClient,
    HubSpotError,
    HubSpotNotFound,
    OAuthClient,
)
from connections.hubspot import scopes as hs_scopes
from connections.hubspot.channels import OPAQUE_ID
from connections.hubspot.conversations import participant
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

REGISTER = "Run “Register channel” on the connection's page (or `manage.py provision_connection`)."
FIXES = {
    "token": "Connect the portal again from the connection's page.",
    "scopes": "Check the app's scopes (here and in HubSpot match), then connect the portal again.",
    "channel": REGISTER,
    "inbox": REGISTER,
    "registration": REGISTER,
    "webhooks": "Run “Set up webhooks” on the connection's page, or fix them in HubSpot's app settings.",
    "project_webhooks": "Upload the project files (`manage.py export_hubspot_project`, `hs project upload`).",
    "last_webhook": "Check the app's webhook target URL in HubSpot and that this portal is reachable.",
    "publish": "Fix the problems above first; then look at HubSpot's answer in the detail.",
}
# Where the admin's health page offers the fix: the Reconnect button, or the connection page's panel
# (its id) that holds the action. The doctor prints the text only.
FIX_PLACES = {
    "token": "reconnect",
    "scopes": "reconnect",
    "channel": "registration",
    "inbox": "registration",
    "registration": "registration",
    "webhooks": "webhooks",
    "last_webhook": "webhooks",
    "publish": "registration",
}


def _check(name: str, label: str, ok: bool | None, message: str, *, fix: str = "", **details) -> dict:
    kind = name.split(":", 1)[0]
    if ok is False and not fix:
        fix = FIXES.get(kind, "")
    place = FIX_PLACES.get(kind, "") if fix and ok is not True else ""
    return {
        "name": name,
        "label": label,
        "ok": ok,
        "message": message,
        "fix": fix,
        "fix_place": place,
        "details": details,
    }


def _guarded(name: str, label: str, run: Callable[[], dict]) -> dict:
    try:
        return run()
    except HubSpotError as exc:
        return _check(name, label, False, f"HubSpot answered with an error: {exc}")


def check_health(connection, *, actor=None, refresh: bool = False) -> dict:
    """`{"ok", "checked_at", "checks": [{"name", "label", "ok", "message", "fix", "fix_place", "details"}],
    "last_webhook_received_at"}`; `ok` is False if any check is False. `refresh` first proves the
    refresh token works by refreshing the access token (the doctor does; the page need not)."""
    info: dict = {}
    checks = [_guarded("token", "Access token", lambda: _token(connection, info, refresh=refresh))]
    checks.append(_scopes(connection.app, info))
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


def _token(connection, info: dict, *, refresh: bool = False) -> dict:
    name, label = "token", "Access token"
    if connection.status == ConnectionStatus.DISCONNECTED or not connection.refresh_token:
        return _check(name, label, False, "Not connected. Connect the portal to HubSpot.")
    token = get_access_token(connection.pk, force=refresh)
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
        f"Valid for {minutes} more minutes (portal {token_info.hub_id}, installed by {token_info.user})"
        + ("; just refreshed." if refresh else "."),
        expires_in=token_info.expires_in,
        hub_id=token_info.hub_id,
        user=token_info.user,
    )


def _scopes(app, info: dict) -> dict:
    name, label = "scopes", "Scopes"
    if "scopes" not in info:
        return _check(name, label, None, "Not checked: the access token could not be read.")
    report = hs_scopes.report(app, info["scopes"])
    details = {
        "scopes": sorted(info["scopes"]),
        "required": list(report.required),
        "optional_granted": list(report.granted_optional),
        "extra": list(report.extra),
        "missing": list(report.missing),
    }
    if report.missing:
        return _check(
            name,
            label,
            False,
            f"Missing {', '.join(report.missing)}. Connect the portal again and approve them.",
            **details,
        )
    message = f"All {len(report.required)} required scopes granted"
    if report.optional:
        message += f"; {len(report.granted_optional)} of {len(report.optional)} optional"
    return _check(name, label, True, message + ".", **details)


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
    declared = (remote.get("capabilities") or {}).get("deliveryIdentifierTypes") or []
    if OPAQUE_ID not in declared:
        return _check(
            name,
            label,
            False,
            f"Channel {channel.channel_id} does not declare {OPAQUE_ID} (registered before delivery "
            "identifiers), so its accounts cannot be named in a publish.",
            channel_id=channel.channel_id,
            delivery_identifier_types=declared,
        )
    message = f"Channel {channel.channel_id} exists; delivery identifier types {', '.join(declared)}."
    if duplicates:
        message += f" HubSpot also has duplicates with our URL: {', '.join(duplicates)}."
    return _check(
        name,
        label,
        True,
        message,
        channel_id=channel.channel_id,
        duplicates=duplicates,
        delivery_identifier_types=declared,
        capabilities=remote.get("capabilities") or {},
    )


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
    identifier = account.get("deliveryIdentifier") or {}
    expected = {"type": OPAQUE_ID, "value": inbox.delivery_identifier}
    if not inbox.delivery_identifier or identifier != expected:
        return _check(
            name,
            label,
            False,
            f"Channel account {inbox.channel_account_id} has delivery identifier "
            f"{identifier.get('value') or 'none'}, not {inbox.delivery_identifier or 'one'}: publishes "
            "to it would be refused. Registering again replaces the account.",
            channel_account_id=inbox.channel_account_id,
            delivery_identifier=identifier,
        )
    return _check(
        name,
        label,
        True,
        f"Channel account {inbox.channel_account_id} is connected as {identifier['value']}.",
        channel_account_id=inbox.channel_account_id,
        delivery_identifier=identifier,
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
    if app.is_project_app:
        # HubSpot's webhooks API serves legacy public apps only; a project's come from its files.
        return _check(
            name,
            label,
            None,
            "Project app: HubSpot takes its webhooks from the uploaded project files, which cannot be "
            "read back. “Last webhook received” shows whether they arrive.",
            fix=FIXES["project_webhooks"],
        )
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


# Publish test (the doctor's --publish-test) ------------------------------------------------------


def publish_test(connection, inbox) -> list[dict]:
    """Publish a test message into a new thread of `inbox`, read it back, and close the thread.

    The visitor is a one-off CHANNEL_SPECIFIC_OPAQUE_ID, so HubSpot creates no CRM contact for it;
    the thread is closed at the end, and stays in the inbox's closed view as a trace of the test.
    """
    steps: list[dict] = []
    channel = CustomChannel.objects.filter(app_id=connection.app_id).exclude(channel_id="").first()
    if channel is None or not inbox.channel_account_id or not inbox.delivery_identifier:
        return [
            _check(
                "publish",
                "Publish a test message",
                False,
                "The channel or this inbox's channel account (with its delivery identifier) is missing.",
                fix=REGISTER,
            )
        ]
    client = HubSpotClient.for_connection(connection)
    marker = uuid.uuid4().hex[:12]
    text = f"HITL portal health check {marker}: a test message, closed right away. No action needed."
    state: dict = {}

    def publish():
        message = client.publish_message(
            channel.channel_id,
            channel_account_id=inbox.channel_account_id,
            text=text,
            senders=[participant(OPAQUE_ID, f"hitl-doctor-{marker}", name="HITL health check")],
            recipients=[participant(OPAQUE_ID, inbox.delivery_identifier)],
            integration_thread_id=f"hitl-doctor-{marker}",
            integration_idempotency_id=f"hitl-doctor-{marker}",
        )
        state.update(
            message_id=str(message.get("id") or ""), thread_id=str(message.get("conversationsThreadId") or "")
        )
        if not state["message_id"] or not state["thread_id"]:
            return _check(
                "publish", "Publish a test message", False, f"HubSpot's answer lacks ids: {message}"
            )
        return _check(
            "publish",
            "Publish a test message",
            True,
            f"Message {state['message_id']} in new thread {state['thread_id']} of inbox {inbox.inbox_id}.",
            **state,
        )

    def read_back():
        got = client.get_message(channel.channel_id, state["message_id"])
        in_thread = any(
            m.get("id") == state["message_id"] for m in client.iter_thread_messages(state["thread_id"])
        )
        ok = got.get("text") == text and in_thread
        message = "Read back from the channel and found in the thread." if ok else "Not found as sent."
        return _check(
            "publish_read", "Read the test message back", ok, message, fix="" if ok else FIXES["publish"]
        )

    def close():
        closed = client.close_thread(state["thread_id"])
        ok = closed.get("status") == "CLOSED"
        return _check(
            "publish_close",
            "Close the test thread",
            ok,
            f"Thread {state['thread_id']} is {closed.get('status')}.",
        )

    steps.append(_guarded("publish", "Publish a test message", publish))
    if steps[-1]["ok"]:
        steps.append(_guarded("publish_read", "Read the test message back", read_back))
        steps.append(_guarded("publish_close", "Close the test thread", close))
    audit.record(
        "connection.publish_test",
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.SUCCESS
        if all(s["ok"] for s in steps)
        else AuditLogEntry.Outcome.FAILURE,
        message="; ".join(f"{s['label']}: {s['message']}" for s in steps),
        details={"inbox_id": inbox.inbox_id, **state},
    )
    return steps
