"""One-click set-up of the demo bot: a registered sandbox connection, a bot key, a callback secret.

Idempotent: a second run reuses the stored key and secret while they are still valid (key not
revoked, secret not retired) and only issues what is missing, so clicking twice changes nothing.
"""

from __future__ import annotations

import io
import json

from django.core.management import CommandError, call_command
from django.db import transaction

from connections import services
from connections.models import BotApiKey, CallbackSecret, Connection
from sandbox.models.demo_bot import DemoBot

KEY_NAME = "Sandbox chat page"


class SetupError(Exception):
    """Set-up could not finish; the message is meant for the person on the page."""


def current() -> DemoBot | None:
    """The demo bot if it is set up and its credentials still work."""
    bot = DemoBot.objects.filter(pk=1).first()
    if bot is None or not _still_valid(bot):
        return None
    return bot


def _still_valid(bot: DemoBot) -> bool:
    connection = Connection.objects.filter(pk=bot.connection_id).first()
    if connection is None:
        return False
    key_ok = BotApiKey.objects.filter(
        connection=connection, prefix=bot.api_key_prefix, revoked_at=None
    ).exists()
    return key_ok and _secret_active(bot)


def _secret_active(bot: DemoBot) -> bool:
    return CallbackSecret.objects.filter(
        pk=bot.callback_secret_id, connection_id=bot.connection_id, retired_at=None
    ).exists()


def provision_sandbox_connection() -> int:
    """Run `provision_connection --sandbox --json` in this process; returns the connection id.

    The command talks to the sandbox over HTTP at HUBSPOT_API_BASE, i.e. to this same server, so
    it must not run inside a transaction a sandbox request would wait on.
    """
    out = io.StringIO()
    try:
        call_command("provision_connection", "--sandbox", "--json", stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        raise SetupError(f"Could not provision the sandbox connection: {exc}") from None
    return json.loads(out.getvalue())["connection_id"]


def ensure() -> DemoBot:
    """Set the demo bot up (or repair it) and return it."""
    bot = current()
    if bot is not None:
        return bot
    connection = Connection.objects.get(pk=provision_sandbox_connection())
    with transaction.atomic():
        bot = DemoBot.objects.select_for_update().filter(pk=1).first() or DemoBot(pk=1)
        if bot.pk and bot.connection_id != connection.pk:
            bot.api_key_prefix, bot.callback_secret_id = "", None
        bot.connection_id = connection.pk
        key_ok = (
            bool(bot.api_key_prefix)
            and BotApiKey.objects.filter(
                connection=connection, prefix=bot.api_key_prefix, revoked_at=None
            ).exists()
        )
        if not key_ok:
            # The plaintext exists only in this return value: keep it (encrypted) or lose it.
            key, plaintext = services.issue_bot_key(connection, name=KEY_NAME)
            bot.api_key, bot.api_key_prefix = plaintext, key.prefix
        if not (bot.callback_secret_id and _secret_active(bot)):
            # A rotation keeps the previous secret active, so other bots of this connection
            # (e.g. one set up with provision_connection --json) keep verifying callbacks.
            secret, plaintext = services.rotate_callback_secret(connection)
            bot.callback_secret, bot.callback_secret_id = plaintext, secret.pk
        bot.save()
    return DemoBot.objects.get(pk=1)  # secrets as loaded: SecretStr, never a bare str
