"""`manage.py provision_connection`, both forms, against the sandbox served by the live server."""

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from connections.models import BotApiKey, CallbackSecret, Connection, HubSpotApp, RegistrationState
from connections.models.access import hash_key
from core.models import AuditLogEntry
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxSubscription, SandboxToken
from tenants.models import Tenant
from tests.factories import HubSpotAppFactory

pytestmark = pytest.mark.django_db(transaction=True)

REQUIRED_KEYS = {
    "tenant",
    "connection_id",
    "portal_id",
    "app_id",
    "inbox_ids",
    "channel_id",
    "channel_account_ids",
    "app_webhook_url",
    "channel_webhook_url",
    "bot_api_key",
    "bot_api_key_prefix",
    "callback_secret",
}


def provision(*args) -> dict:
    out = io.StringIO()
    call_command("provision_connection", *args, stdout=out)
    return json.loads(out.getvalue())  # the whole of stdout is one JSON object


def explicit(seed, *extra) -> list[str]:
    return [
        "--tenant",
        "Globex Corp",
        "--app-id",
        str(seed["app_id"]),
        "--client-id",
        seed["client_id"],
        "--client-secret",
        seed["client_secret"],
        "--developer-api-key",
        seed["developer_api_key"],
        "--refresh-token",
        seed["refresh_token"],
        *extra,
    ]


def test_sandbox_json_twice_is_idempotent_and_shows_secrets_once(hubspot, caplog):
    caplog.set_level(logging.DEBUG)

    first = provision("--sandbox", "--json")
    second = provision("--sandbox", "--json")

    assert REQUIRED_KEYS | {"client_secret"} <= set(first)
    assert first["tenant"] == "demo-company" and first["portal_id"] == hubspot["portal_id"]
    assert first["app_id"] == hubspot["app_id"] and first["inbox_ids"] == hubspot["inbox_ids"]
    assert first["client_secret"] == hubspot["client_secret"]
    channel = SandboxChannel.objects.get(archived=False)
    assert first["channel_id"] == str(channel.pk)
    assert first["channel_account_ids"] == {
        str(a.inbox.inbox_id): str(a.pk) for a in SandboxChannelAccount.objects.select_related("inbox")
    }
    assert first["channel_webhook_url"] == channel.webhook_url
    assert first["app_webhook_url"].endswith("/app/") and first["webhooks"]["ok"]
    assert SandboxSubscription.objects.count() == 5
    key = BotApiKey.objects.get()
    assert first["bot_api_key"].startswith(first["bot_api_key_prefix"]) and key.key_hash == hash_key(
        first["bot_api_key"]
    )
    assert CallbackSecret.objects.get().secret == first["callback_secret"]

    for same in (
        "tenant",
        "connection_id",
        "portal_id",
        "channel_id",
        "channel_account_ids",
        "bot_api_key_prefix",
    ):
        assert second[same] == first[same], same
    assert second["bot_api_key"] is None and second["callback_secret"] is None
    assert (Connection.objects.count(), BotApiKey.objects.count(), CallbackSecret.objects.count()) == (
        1,
        1,
        1,
    )
    assert SandboxChannel.objects.count() == 1 and SandboxChannelAccount.objects.count() == 2
    assert Connection.objects.get().registration.state == RegistrationState.ACTIVE

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (
        first["bot_api_key"],
        first["callback_secret"],
        first["client_secret"],
        hubspot["refresh_token"],
    ):
        assert secret not in logged
    assert AuditLogEntry.objects.filter(action="connection.provision").count() == 2


def test_new_key_issues_another_bot_key(hubspot):
    first = provision("--sandbox", "--json")

    again = provision("--sandbox", "--json", "--new-key")

    assert again["bot_api_key"] and again["bot_api_key"] != first["bot_api_key"]
    assert again["bot_api_key_prefix"] != first["bot_api_key_prefix"]
    assert again["callback_secret"] is None
    assert BotApiKey.objects.filter(revoked_at=None).count() == 2


def test_explicit_arguments_against_the_sandbox(hubspot):
    settings_url = (
        f"https://app.hubspot.com/live-messages-settings/{hubspot['portal_id']}/inboxes/90000102/channels"
    )

    result = provision(*explicit(hubspot, "--inbox-id", settings_url, "--json"))

    assert "client_secret" not in result
    assert set(result) >= REQUIRED_KEYS
    assert result["tenant"] == "globex-corp" and Tenant.objects.get(slug="globex-corp").name == "Globex Corp"
    assert result["inbox_ids"] == [90000102]
    assert list(result["channel_account_ids"]) == ["90000102"]
    assert result["bot_api_key"] and result["callback_secret"]
    app = HubSpotApp.objects.get(app_id=hubspot["app_id"])
    assert app.developer_api_key == hubspot["developer_api_key"] and app.tenant.slug == "globex-corp"

    # The tenant may be named by slug; a second run is the same connection.
    assert provision(*explicit(hubspot, "--json"))["connection_id"] == result["connection_id"]
    assert (
        provision(
            "--tenant",
            "globex-corp",
            "--app-id",
            str(hubspot["app_id"]),
            "--refresh-token",
            hubspot["refresh_token"],
            "--json",
        )["connection_id"]
        == result["connection_id"]
    )


def test_without_json_no_secret_is_printed_or_issued(hubspot):
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", stdout=out)

    text = out.getvalue()
    assert "Channel" in text and "active" in text and "--json" in text
    assert hubspot["client_secret"] not in text
    assert not BotApiKey.objects.exists()
    secret = CallbackSecret.objects.get()
    assert secret.secret not in text


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("--tenant", "--tenant is required"),
        ("--app-id", "--app-id is required"),
        ("--refresh-token", "--refresh-token is required"),
        ("--client-secret", "--client-secret is required for a new app"),
    ],
)
def test_missing_arguments_are_explained(hubspot, drop, message):
    args = explicit(hubspot)
    index = args.index(drop)
    del args[index : index + 2]

    with pytest.raises(CommandError, match=message):
        call_command("provision_connection", *args, stdout=io.StringIO())


def test_a_refused_refresh_token_is_explained(hubspot):
    args = explicit(hubspot)
    args[args.index("--refresh-token") + 1] = "na1-not-a-token"

    with pytest.raises(CommandError, match="HubSpot refused the app's credentials or the refresh token"):
        call_command("provision_connection", *args, stdout=io.StringIO())
    assert not Connection.objects.exists()


def test_missing_scopes_are_explained(hubspot):
    SandboxToken.objects.filter(token=hubspot["refresh_token"]).update(scopes=["oauth", "conversations.read"])

    with pytest.raises(CommandError, match=r"lacks scopes conversations\.custom_channels\.read"):
        call_command("provision_connection", *explicit(hubspot), stdout=io.StringIO())


def test_a_bad_inbox_is_explained(hubspot):
    for value, message in (("not-an-inbox", "neither an inbox ID"), ("123", "has no inbox 123")):
        with pytest.raises(CommandError, match=f"--inbox-id {value}: .*{message}"):
            call_command(
                "provision_connection", *explicit(hubspot, "--inbox-id", value), stdout=io.StringIO()
            )


def test_an_app_of_another_tenant_is_refused(hubspot, tenant_b):
    HubSpotAppFactory(tenant=tenant_b, app_id=hubspot["app_id"])

    with pytest.raises(CommandError, match="belongs to another tenant"):
        call_command("provision_connection", *explicit(hubspot), stdout=io.StringIO())


def test_a_failed_registration_ends_in_a_clear_error(hubspot):
    args = explicit(hubspot)
    args[args.index("--developer-api-key") + 1] = "wrong-developer-key"

    with pytest.raises(
        CommandError, match="Channel registration ended failed: HubSpot refused the developer API key"
    ):
        call_command("provision_connection", *args, stdout=io.StringIO())


def test_sandbox_needs_the_sandbox(hubspot, settings):
    settings.HUBSPOT_API_BASE = "https://api.hubapi.com"

    with pytest.raises(CommandError, match="not the sandbox"):
        call_command("provision_connection", "--sandbox", "--json", stdout=io.StringIO())


def test_an_unreachable_hubspot_is_explained(hubspot, settings):
    settings.HUBSPOT_API_BASE = "http://127.0.0.1:9/sandbox/api"
    settings.HUBSPOT_MAX_RETRIES = 0

    with pytest.raises(
        CommandError, match=r"Could not reach HubSpot at http://127\.0\.0\.1:9/sandbox/api.*make run"
    ):
        call_command("provision_connection", "--sandbox", "--json", stdout=io.StringIO())


def test_a_failed_run_leaves_nothing_it_created(hubspot):
    # Fails at channel registration, after tenant, app and connection (with its inboxes) were made.
    args = explicit(hubspot, "--inbox-id", str(hubspot["inbox_ids"][0]))
    args[args.index("--developer-api-key") + 1] = "wrong-developer-key"

    with pytest.raises(CommandError, match="Channel registration ended failed"):
        call_command("provision_connection", *args, stdout=io.StringIO())

    assert not Tenant.objects.filter(name="Globex Corp").exists()
    assert not HubSpotApp.objects.filter(app_id=hubspot["app_id"]).exists()
    assert not Connection.objects.exists()
    assert not BotApiKey.objects.exists() and not CallbackSecret.objects.exists()


def test_a_refused_argument_leaves_no_new_tenant(hubspot):
    args = explicit(hubspot)
    index = args.index("--client-secret")
    del args[index : index + 2]

    with pytest.raises(CommandError, match="--client-secret is required"):
        call_command("provision_connection", *args, stdout=io.StringIO())
    assert not Tenant.objects.filter(name="Globex Corp").exists()


def test_a_failed_rerun_keeps_what_an_earlier_run_set_up(hubspot):
    first = provision(*explicit(hubspot, "--json"))
    args = explicit(hubspot, "--inbox-id", "123")

    with pytest.raises(CommandError, match="has no inbox 123"):
        call_command("provision_connection", *args, stdout=io.StringIO())

    connection = Connection.objects.get(pk=first["connection_id"])
    assert connection.tenant.name == "Globex Corp"
    assert connection.registration.state == RegistrationState.ACTIVE
