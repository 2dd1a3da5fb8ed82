"""Disconnect (revoked at the sandbox), bot API keys and callback secrets, with their audit entries."""

import pytest

from connections import services
from connections.hubspot import HubSpotNotConnected
from connections.hubspot.tokens import get_access_token
from connections.models import BotApiKey, CallbackSecret, Connection, ConnectionStatus
from connections.models.access import hash_key
from core.models import AuditLogEntry
from sandbox.models import SandboxBehaviour, SandboxToken
from tests.connections.helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


def test_disconnect_revokes_at_hubspot_and_wipes_tokens(connection, hubspot, admin_a):
    get_access_token(connection.pk)  # holds an access token now, as a used connection does

    result = services.disconnect(connection, actor=admin_a)

    assert result == {"revoked": True, "error": None}
    refresh = SandboxToken.objects.get(token=hubspot["refresh_token"])
    assert refresh.revoked_at is not None
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token, stored.access_token_expires_at) == ("", "", None)
    assert stored.status == ConnectionStatus.DISCONNECTED
    assert connection.status == ConnectionStatus.DISCONNECTED  # the caller's instance too
    with pytest.raises(HubSpotNotConnected):
        get_access_token(connection.pk)
    entry = AuditLogEntry.objects.get(action="connection.disconnect")
    assert (entry.outcome, entry.actor, entry.tenant) == ("success", admin_a, connection.tenant)
    assert hubspot["refresh_token"] not in entry.message + str(entry.details)


def test_disconnect_wipes_tokens_even_when_hubspot_fails_to_revoke(connection, hubspot, settings):
    settings.HUBSPOT_MAX_RETRIES = 0
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=1, fail_status=500)

    result = services.disconnect(connection)

    assert result["revoked"] is False and "HTTP 500" in result["error"]
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.refresh_token == "" and stored.status == ConnectionStatus.DISCONNECTED
    assert "did not confirm revoking" in stored.last_error
    assert AuditLogEntry.objects.get(action="connection.disconnect").outcome == "failure"


def test_disconnect_only_touches_the_given_connection(connection, hubspot, app, tenant_b):
    other = connect(tenant_b, app, portal_id=31337, refresh_token="other-refresh")

    services.disconnect(connection)

    other.refresh_from_db()
    assert (other.refresh_token, other.status) == ("other-refresh", ConnectionStatus.ACTIVE)


def test_issue_bot_key_returns_plaintext_once_and_audits_without_it(connection, admin_a):
    key, plaintext = services.issue_bot_key(connection, actor=admin_a, name="Support bot")

    assert key.key_hash == hash_key(plaintext) and plaintext.startswith(key.prefix)
    assert (key.name, key.created_by, key.connection) == ("Support bot", admin_a, connection)
    entry = AuditLogEntry.objects.get(action="bot_key.issue")
    assert entry.details == {"prefix": key.prefix, "name": "Support bot"}
    assert plaintext not in entry.message + str(entry.details)

    services.revoke_bot_key(key, actor=admin_a)
    assert not BotApiKey.objects.get().is_active
    assert AuditLogEntry.objects.filter(action="bot_key.revoke").count() == 1


def test_rotating_callback_secrets_keeps_the_newest_two_active(connection, admin_a):
    issued = [services.rotate_callback_secret(connection, actor=admin_a) for _ in range(4)]

    active = CallbackSecret.objects.filter(connection=connection, retired_at=None)
    assert set(active.values_list("pk", flat=True)) == {issued[3][0].pk, issued[2][0].pk}
    assert {s.secret for s in active} == {issued[3][1], issued[2][1]}
    assert CallbackSecret.objects.filter(retired_at__isnull=False).count() == 2
    entries = AuditLogEntry.objects.filter(action="callback_secret.rotate")
    assert entries.count() == 4
    assert all(plaintext not in e.message + str(e.details) for e in entries for _, plaintext in issued)


def test_rotation_leaves_other_connections_secrets_alone(connection, app, tenant_b):
    other = connect(tenant_b, app, portal_id=31337, refresh_token="x")
    theirs, _ = services.rotate_callback_secret(other)

    for _ in range(3):
        services.rotate_callback_secret(connection)

    theirs.refresh_from_db()
    assert theirs.retired_at is None
