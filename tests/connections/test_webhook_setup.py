"""App webhook settings and subscriptions through HubSpot's webhooks API, against the sandbox."""

import pytest

from connections.webhook_setup import REQUIRED_SUBSCRIPTIONS, ensure_app_webhooks, expected_config
from connections.webhook_urls import app_webhook_url
from core.models import AuditLogEntry
from sandbox.models import SandboxSubscription, SandboxWebhookSettings
from tests.connections.helpers import sandbox_app

pytestmark = pytest.mark.django_db(transaction=True)

WANTED = {(s.event_type, s.property_name) for s in REQUIRED_SUBSCRIPTIONS}


def held(seed) -> set[tuple[str, str, bool]]:
    return set(
        SandboxSubscription.objects.filter(app__app_id=seed["app_id"]).values_list(
            "event_type", "property_name", "active"
        )
    )


def test_required_subscriptions_cover_what_the_handoff_listens_to():
    assert {
        ("conversation.creation", ""),
        ("conversation.newMessage", ""),
        ("conversation.propertyChange", "assignedTo"),
        ("conversation.propertyChange", "status"),
    } <= WANTED


def test_first_run_sets_target_url_and_creates_every_subscription(app, hubspot, admin_a):
    result = ensure_app_webhooks(app, actor=admin_a)

    assert result["ok"] and result["error"] is None and result["manual"] is None
    assert result["target_url_changed"] and result["previous_target_url"] is None
    settings = SandboxWebhookSettings.objects.get(app__app_id=hubspot["app_id"])
    assert settings.target_url == app_webhook_url(app) == result["target_url"]
    assert held(hubspot) == {(e, p, True) for e, p in WANTED}
    assert {s["status"] for s in result["subscriptions"]} == {"created"}
    assert len(result["created"]) == len(REQUIRED_SUBSCRIPTIONS)
    entry = AuditLogEntry.objects.get(action="app.webhooks")
    assert (entry.outcome, entry.actor, entry.tenant) == ("success", admin_a, app.tenant)


def test_second_run_changes_nothing(app, hubspot):
    first = ensure_app_webhooks(app)
    second = ensure_app_webhooks(app)

    assert second["ok"] and not second["target_url_changed"]
    assert second["created"] == [] and second["reactivated"] == []
    assert {s["status"] for s in second["subscriptions"]} == {"existing"}
    assert [s["id"] for s in second["subscriptions"]] == [s["id"] for s in first["subscriptions"]]
    assert SandboxSubscription.objects.count() == len(REQUIRED_SUBSCRIPTIONS)
    assert AuditLogEntry.objects.filter(action="app.webhooks").last().message.startswith("target URL")
    assert (
        AuditLogEntry.objects.filter(action="app.webhooks").first().message
        == "Already configured; nothing changed."
    )


def test_inactive_ones_are_reactivated_wrong_target_fixed_and_others_left_alone(app, hubspot):
    ensure_app_webhooks(app)
    SandboxSubscription.objects.filter(event_type="conversation.creation").update(active=False)
    SandboxWebhookSettings.objects.update(
        target_url="https://old.example.com/hooks", max_concurrent_requests=3
    )
    theirs = SandboxSubscription.objects.create(app=sandbox_app(hubspot), event_type="contact.creation")

    result = ensure_app_webhooks(app)

    assert result["reactivated"] == ["conversation.creation"] and result["created"] == []
    assert result["previous_target_url"] == "https://old.example.com/hooks"
    settings = SandboxWebhookSettings.objects.get()
    assert (settings.target_url, settings.max_concurrent_requests) == (app_webhook_url(app), 3)
    assert all(active for _, _, active in held(hubspot))
    theirs.refresh_from_db()
    assert theirs.active and result["other"][0]["event_type"] == "contact.creation"


def test_refusal_returns_the_reason_and_the_manual_steps(app, hubspot):
    app.developer_api_key = "wrong-key"
    app.save()

    result = ensure_app_webhooks(app)

    assert not result["ok"]
    assert "HubSpot refused" in result["error"] and "HTTP 401" in result["error"]
    assert "wrong-key" not in result["error"]
    assert result["manual"] == expected_config(app)
    assert not SandboxSubscription.objects.exists()
    assert AuditLogEntry.objects.get(action="app.webhooks").outcome == "failure"


def test_an_app_without_a_developer_key_gets_the_manual_steps(app, hubspot):
    app.developer_api_key = ""
    app.save()

    result = ensure_app_webhooks(app)

    assert not result["ok"] and "no developer API key" in result["error"]
    steps = " ".join(result["manual"]["manual_steps"])
    assert app_webhook_url(app) in steps and "conversation.propertyChange (assignedTo)" in steps


def test_expected_config_lists_url_and_subscriptions(app, settings):
    settings.PUBLIC_BASE_URL = "https://hitl.example.com"

    config = expected_config(app)

    assert config["target_url"] == f"https://hitl.example.com/webhooks/hubspot/{app.webhook_token}/app/"
    assert {(s["event_type"], s["property_name"]) for s in config["subscriptions"]} == WANTED
