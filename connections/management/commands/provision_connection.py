"""Provision a working connection from the command line: app, OAuth tokens, inboxes, channel,
webhooks, a bot API key and a callback signing secret, in one idempotent run.

    manage.py provision_connection --tenant acme --app-id 123 --client-id … --client-secret … \\
        --developer-api-key … --refresh-token … --inbox-id 1263703960 --json
    manage.py provision_connection --sandbox --json      # against the built-in HubSpot sandbox

With --sandbox the demo portal and app are created in the sandbox (sandbox.seed) and OAuth is
completed programmatically with the refresh token the sandbox issued for the install. Registration
runs in this process, so the command ends with the channel active or a clear error. Secrets are
printed only in the --json object (the operator asked for them), never logged; a bot API key is
therefore only issued with --json: first run, or --new-key.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from connections import registration, services
from connections.hubspot import HubSpotError, HubSpotNetworkError, OAuthClient, scopes
from connections.inboxes import add_inbox, parse_inbox_reference
from connections.models import (
    ChannelRegistration,
    Connection,
    ConnectionStatus,
    CustomChannel,
    ErrorOrigin,
    HubSpotApp,
    InboxState,
    RegistrationState,
)
from connections.webhook_setup import ensure_app_webhooks
from connections.webhook_urls import app_webhook_url, channel_webhook_url
from core import audit
from tenants.models import Tenant

SANDBOX_TENANT = "Demo Company"
ACTOR = "command provision_connection"


class Command(BaseCommand):
    help = "Create or update a HubSpot connection and register its custom channel (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Tenant slug or name; created if missing.")
        parser.add_argument("--app-id", type=int, help="HubSpot app ID.")
        parser.add_argument("--client-id", help="OAuth client ID of the app.")
        parser.add_argument("--client-secret", help="OAuth client secret of the app.")
        parser.add_argument("--developer-api-key", help="Developer API key (custom channels, webhooks).")
        parser.add_argument("--refresh-token", help="Refresh token of the portal's install of the app.")
        parser.add_argument(
            "--inbox-id", action="append", default=[], help="Inbox ID or inbox settings URL (repeatable)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object, secrets included.")
        parser.add_argument("--new-key", action="store_true", help="Issue a new bot API key.")
        parser.add_argument("--sandbox", action="store_true", help="Use the built-in HubSpot sandbox.")

    def handle(self, *args, **options):
        if options["sandbox"]:
            options = _sandbox_options(options)
        # Rows this run creates, undone if it fails: a failed run leaves no tenant, app or
        # connection half set up (a re-run updates what an earlier successful run made, in place).
        # Not one transaction: HubSpot is called in between, and no row lock may be held over it.
        created: list = []
        try:
            result = self._provision(options, created)
        except BaseException:
            _undo(created)
            raise
        self._report(options, result)

    def _report(self, options: dict, result: dict) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self._summary(result)

    def _provision(self, o: dict, created: list) -> dict:
        try:
            return self._provision_steps(o, created)
        except HubSpotNetworkError as exc:
            hint = " Is the server running (make run)?" if o["sandbox"] else ""
            raise CommandError(
                f"Could not reach HubSpot at {settings.HUBSPOT_API_BASE}: {exc}.{hint}"
            ) from None
        except HubSpotError as exc:
            raise CommandError(registration.describe(exc)) from None

    def _provision_steps(self, o: dict, created: list) -> dict:
        tenant = _tenant(o["tenant"], created)
        app = _app(tenant, o, created)
        connection = _connect(tenant, app, o["refresh_token"], created)
        for value in o["inbox_id"]:
            try:
                add_inbox(connection, parse_inbox_reference(str(value), portal_id=connection.portal_id))
            except ValueError as exc:
                raise CommandError(f"--inbox-id {value}: {exc}") from None
        registration.request_registration(connection, enqueue=False)
        reg = registration.register_now(connection.pk)
        if reg.state != RegistrationState.ACTIVE:
            raise CommandError(f"Channel registration ended {reg.get_state_display().lower()}: {reg.detail}")
        webhooks = ensure_app_webhooks(app)
        if not webhooks["ok"]:
            self.stderr.write(f"Webhooks not set up: {webhooks['error']}")
            for step in webhooks["manual"]["manual_steps"]:
                self.stderr.write(f"  - {step}")
        result = _describe(connection, webhooks)
        result.update(
            _secrets(connection, issue_bot_key=o["json"] and (o["new_key"] or not _bot_key(connection)))
        )
        if o["sandbox"]:
            result["client_secret"] = app.client_secret
        audit.record(
            "connection.provision",
            actor_label=ACTOR,
            tenant=tenant,
            target=connection,
            message=f"Provisioned portal {connection.portal_id}; channel {result['channel_id']} active.",
            details={"new_bot_key": result["bot_api_key"] is not None, "sandbox": o["sandbox"]},
        )
        return result

    def _summary(self, result: dict) -> None:
        lines = [
            f"Tenant {result['tenant']}: connection {result['connection_id']} to portal "
            f"{result['portal_id']} (app {result['app_id']}).",
            f"Channel {result['channel_id']} active; accounts per inbox: {result['channel_account_ids']}.",
            f"App webhook URL: {result['app_webhook_url']}",
            f"Channel webhook URL: {result['channel_webhook_url']}",
            f"Bot API key: {result['bot_api_key_prefix'] or 'none'}… (keys are shown only with --json; "
            "run with --json --new-key for a new one).",
        ]
        self.stdout.write("\n".join(lines))


def _sandbox_options(options: dict) -> dict:
    if not settings.HUBSPOT_SANDBOX:
        raise CommandError("--sandbox needs the built-in sandbox: set HUBSPOT_SANDBOX=true (make run does).")
    if not settings.HUBSPOT_API_BASE.rstrip("/").endswith("/sandbox/api"):
        raise CommandError(f"--sandbox: HUBSPOT_API_BASE is {settings.HUBSPOT_API_BASE}, not the sandbox.")
    from sandbox.seed import seed_demo

    seed = seed_demo(settings.PUBLIC_BASE_URL)
    return {
        **options,
        "tenant": options["tenant"] or SANDBOX_TENANT,
        "app_id": seed["app_id"],
        "client_id": seed["client_id"],
        "client_secret": seed["client_secret"],
        "developer_api_key": seed["developer_api_key"],
        "refresh_token": seed["refresh_token"],
        "inbox_id": options["inbox_id"] or seed["inbox_ids"],
    }


def _undo(created: list) -> None:
    """Delete what a failed run created, newest first (a connection takes its inboxes, channel
    registration, keys and secrets with it)."""
    with transaction.atomic():
        for instance in reversed(created):
            type(instance).objects.filter(pk=instance.pk).delete()


def _tenant(value: str | None, created: list) -> Tenant:
    value = (value or "").strip()
    if not value or not slugify(value):
        raise CommandError("--tenant is required: the slug or name of the organisation (created if missing).")
    tenant = Tenant.objects.filter(slug=value).first() or Tenant.objects.filter(name__iexact=value).first()
    if tenant is None:
        tenant = Tenant.objects.create(name=value, slug=slugify(value)[:100])
        created.append(tenant)
    return tenant


def _app(tenant: Tenant, o: dict, created: list) -> HubSpotApp:
    if not o["app_id"]:
        raise CommandError("--app-id is required (HubSpot developer account → Apps).")
    app = HubSpotApp.objects.filter(app_id=o["app_id"]).first()
    if app is not None and app.tenant_id not in (None, tenant.pk):
        raise CommandError(f"HubSpot app {o['app_id']} belongs to another tenant ({app.tenant}).")
    app = app or HubSpotApp(tenant=tenant, app_id=o["app_id"], name=f"HubSpot app {o['app_id']}")
    for field in ("client_id", "client_secret", "developer_api_key"):
        if o[field]:
            setattr(app, field, o[field])
        elif not getattr(app, field):
            raise CommandError(f"--{field.replace('_', '-')} is required for a new app.")
    new = app.pk is None
    app.save()
    if new:
        created.append(app)
    return app


def _connect(tenant: Tenant, app: HubSpotApp, refresh_token: str | None, created: list) -> Connection:
    """Complete OAuth with a refresh token: new access token, then token info for portal and scopes."""
    if not refresh_token:
        raise CommandError("--refresh-token is required (from the portal's install of the app).")
    client = OAuthClient.for_app(app)
    try:
        tokens = client.refresh(refresh_token)
        info = client.token_info(tokens.access_token)
    except HubSpotNetworkError:
        raise
    except HubSpotError as exc:
        raise CommandError(f"HubSpot refused the app's credentials or the refresh token: {exc}") from None
    missing = list(scopes.report(app, info.scopes).missing)
    if missing:
        raise CommandError(f"The refresh token lacks scopes {', '.join(missing)}; install the app with them.")
    if info.app_id and info.app_id != app.app_id:
        raise CommandError(f"The refresh token belongs to HubSpot app {info.app_id}, not {app.app_id}.")
    with transaction.atomic():
        connection = Connection.objects.select_for_update().filter(app=app, portal_id=info.hub_id).first()
        if connection is not None and connection.tenant_id != tenant.pk:
            raise CommandError(
                f"Portal {info.hub_id} is already connected through this app by {connection.tenant}."
            )
        new = connection is None
        connection = connection or Connection(tenant=tenant, app=app, portal_id=info.hub_id)
        connection.hub_domain = info.hub_domain
        connection.name = connection.name or info.hub_domain or f"Portal {info.hub_id}"
        connection.scopes = sorted(info.scopes)
        connection.access_token = tokens.access_token
        connection.access_token_expires_at = tokens.expires_at()
        connection.refresh_token = tokens.refresh_token or refresh_token
        connection.status, connection.last_error = ConnectionStatus.ACTIVE, ""
        connection.error_origin = ErrorOrigin.NONE
        # A token refresh in flight (tokens.py) then stores nothing over the new grant.
        connection.token_refresh_claim = connection.token_refresh_claimed_until = None
        connection.connected_at = timezone.now()
        connection.save()
        ChannelRegistration.objects.get_or_create(connection=connection)
    if new:
        created.append(connection)
    return connection


def _bot_key(connection: Connection):
    return connection.api_keys.filter(revoked_at=None).order_by("-created_at", "-pk").first()


def _secrets(connection: Connection, *, issue_bot_key: bool) -> dict:
    key, key_plaintext = (
        services.issue_bot_key(connection, name="Bot") if issue_bot_key else (_bot_key(connection), None)
    )
    secret = connection.callback_secrets.filter(retired_at=None).order_by("-created_at", "-pk").first()
    secret_plaintext = None
    if secret is None:
        secret, secret_plaintext = services.rotate_callback_secret(connection)
    return {
        "bot_api_key": key_plaintext,
        "bot_api_key_prefix": key.prefix if key else None,
        "callback_secret": secret_plaintext,
        "callback_secret_id": secret.pk,
    }


def _describe(connection: Connection, webhooks: dict) -> dict:
    inboxes = connection.inboxes.exclude(state=InboxState.REMOVED).order_by("position", "id")
    channel = CustomChannel.objects.get(app=connection.app)
    return {
        "tenant": connection.tenant.slug,
        "tenant_name": connection.tenant.name,
        "connection_id": connection.pk,
        "portal_id": connection.portal_id,
        "hub_domain": connection.hub_domain,
        "app_id": connection.app.app_id,
        "inbox_ids": [i.inbox_id for i in inboxes],
        "channel_id": channel.channel_id,
        "channel_account_ids": {str(i.inbox_id): i.channel_account_id for i in inboxes},
        "duplicate_channel_ids": list(channel.duplicate_channel_ids),
        "app_webhook_url": app_webhook_url(connection.app),
        "channel_webhook_url": channel_webhook_url(connection.app),
        "webhooks": {
            "ok": webhooks["ok"],
            "error": webhooks["error"],
            "subscriptions": [s["label"] for s in webhooks["subscriptions"]],
        },
        "hubspot_api_base": settings.HUBSPOT_API_BASE,
    }
