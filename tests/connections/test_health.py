"""The health report of a connection, checked against what the sandbox holds."""

import re

import pytest

from connections import registration, services
from connections.health import check_health
from connections.webhook_setup import ensure_app_webhooks
from core.models import AuditLogEntry
from sandbox.models import (
    SandboxBehaviour,
    SandboxChannel,
    SandboxChannelAccount,
    SandboxSubscription,
    SandboxToken,
)

pytestmark = pytest.mark.django_db(transaction=True)


def checks(report) -> dict:
    return {c["name"]: c for c in report["checks"]}


@pytest.fixture
def healthy(with_inboxes, app):
    registration.request_registration(with_inboxes)
    ensure_app_webhooks(app)
    return with_inboxes


def test_a_working_connection_passes_every_check(healthy, hubspot, admin_a):
    report = check_health(healthy, actor=admin_a)

    assert report["ok"], [c for c in report["checks"] if c["ok"] is False]
    by_name = checks(report)
    assert set(by_name) == {
        "token",
        "scopes",
        "channel",
        f"inbox:{hubspot['inbox_ids'][0]}",
        f"inbox:{hubspot['inbox_ids'][1]}",
        "registration",
        "webhooks",
        "last_webhook",
    }
    assert by_name["token"]["details"]["hub_id"] == hubspot["portal_id"]
    assert by_name["token"]["details"]["expires_in"] > 0
    assert by_name["scopes"]["details"]["missing"] == []
    assert by_name["last_webhook"]["ok"] is None and report["last_webhook_received_at"] is None
    entry = AuditLogEntry.objects.get(action="connection.health_check")
    assert (entry.outcome, entry.actor) == ("success", admin_a)


def test_problems_at_hubspot_are_reported_per_check(healthy, hubspot):
    inbox_id = hubspot["inbox_ids"][0]
    SandboxChannelAccount.objects.filter(inbox__inbox_id=inbox_id).update(authorized=False)
    SandboxSubscription.objects.filter(property_name="status").update(active=False)
    SandboxToken.objects.filter(token=hubspot["refresh_token"]).update(
        scopes=[s for s in hubspot["scopes"] if s != "files"]
    )
    SandboxToken.objects.filter(kind="access").delete()  # force a refresh with the narrower grant
    healthy.access_token = ""
    healthy.save()

    report = check_health(healthy)

    by_name = checks(report)
    assert not report["ok"]
    assert by_name["token"]["ok"] is True
    assert by_name["scopes"]["ok"] is False and by_name["scopes"]["details"]["missing"] == ["files"]
    assert (
        by_name[f"inbox:{inbox_id}"]["ok"] is False
        and "switched off" in by_name[f"inbox:{inbox_id}"]["message"]
    )
    assert by_name[f"inbox:{hubspot['inbox_ids'][1]}"]["ok"] is True
    assert (
        by_name["webhooks"]["ok"] is False
        and "conversation.propertyChange (status)" in by_name["webhooks"]["message"]
    )
    failed = AuditLogEntry.objects.get(action="connection.health_check")
    assert failed.outcome == "failure" and set(failed.details["failed"]) == {
        "scopes",
        f"inbox:{inbox_id}",
        "webhooks",
    }


def test_a_deleted_channel_is_reported(healthy):
    SandboxChannel.objects.update(archived=True)

    by_name = checks(check_health(healthy))

    assert by_name["channel"]["ok"] is False and "no longer exists" in by_name["channel"]["message"]
    assert all(by_name[n]["ok"] is None for n in by_name if n.startswith("inbox:"))


def test_a_disconnected_connection_is_reported_without_raising(healthy):
    services.disconnect(healthy)

    report = check_health(healthy)

    by_name = checks(report)
    assert by_name["token"]["ok"] is False and "Not connected" in by_name["token"]["message"]
    assert by_name["scopes"]["ok"] is None


def test_hubspot_failures_become_failed_checks(healthy, settings):
    settings.HUBSPOT_MAX_RETRIES = 0
    healthy.access_token = ""
    healthy.save()
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=100, fail_status=503)

    report = check_health(healthy)

    assert not report["ok"]
    by_name = checks(report)
    assert by_name["token"]["ok"] is False and "HTTP 503" in by_name["token"]["message"]
    assert by_name["channel"]["ok"] is False and by_name["webhooks"]["ok"] is False


def test_an_unregistered_connection_says_what_to_do(connection):
    by_name = checks(check_health(connection))

    assert by_name["channel"]["ok"] is False and "Register the channel" in by_name["channel"]["message"]
    assert by_name["registration"]["ok"] is None


# -- the admin's health page: each problem with what to do about it ------------------------------------


def health_page(client, user, connection) -> dict[str, str]:
    """The page after "Check health": each check's "What to do" cell (HTML), by check name."""
    from django.urls import reverse

    client.force_login(user)
    action = reverse("admin:connections_connection_action", args=[connection.pk, "check-health"])
    response = client.post(action, follow=True)
    assert response.status_code == 200
    rows = response.text.split('id="health-checks"')[1].split("</tbody>")[0].split('<tr data-check="')[1:]
    return {row.split('"', 1)[0]: row.split('class="hitl-fix">', 1)[1].split("</td>")[0] for row in rows}


def links(cell: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', cell)


def text(cell: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def test_the_health_page_says_what_to_do_for_each_problem(client, healthy, hubspot, admin_a):
    inbox_id = hubspot["inbox_ids"][0]
    SandboxChannelAccount.objects.filter(inbox__inbox_id=inbox_id).update(authorized=False)
    SandboxSubscription.objects.filter(property_name="status").update(active=False)

    fixes = health_page(client, admin_a, healthy)

    change = f"/admin/connections/connection/{healthy.pk}/change/"
    inbox = fixes[f"inbox:{inbox_id}"]
    assert "Register channel" in text(inbox) and links(inbox) == [f"{change}#registration"]
    webhooks = fixes["webhooks"]
    assert "Set up webhooks" in text(webhooks) and links(webhooks) == [f"{change}#webhooks"]
    # A passing check has nothing to do.
    assert text(fixes["token"]) == "" and text(fixes[f"inbox:{hubspot['inbox_ids'][1]}"]) == ""


def test_a_disconnected_connection_offers_reconnect_on_the_health_page(client, healthy, admin_a):
    services.disconnect(healthy)

    token = health_page(client, admin_a, healthy)["token"]

    assert "Connect the portal again" in text(token)
    assert f'action="/admin/connections/connection/{healthy.pk}/actions/reconnect/"' in token
    assert 'method="post"' in token and 'name="csrfmiddlewaretoken"' in token
    assert "Reconnect to HubSpot</button>" in token
