"""The connection page as an operations console, through the Django test client.

HubSpot is out of the picture here: the inbox listing is replaced at the service boundary
(`connections.inboxes.available_inboxes`), and actions whose service would call HubSpot are
covered against the sandbox in test_admin_sandbox.py. What is checked: each action's effect and
audit entry, who may do it (by URL too), the polling endpoint, and that secrets never reach a page.
"""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections.models import (
    BotApiKey,
    ChannelRegistration,
    ConnectedInbox,
    Connection,
    ConnectionStatus,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from core.models import AuditLogEntry
from tests.connections.helpers import connect
from tests.factories import HubSpotAppFactory

ACCESS_TOKEN = "access-token-value-that-must-never-show"
REFRESH_TOKEN = "refresh-token-value-that-must-never-show"
LISTED = [{"id": 101, "name": "Support", "type": "INBOX"}, {"id": 102, "name": "Sales", "type": "HELP_DESK"}]
ACTIONS = [
    "add-inboxes",
    "remove-inbox",
    "register",
    "unregister",
    "setup-webhooks",
    "check-health",
    "disconnect",
    "issue-key",
    "revoke-key",
    "rotate-secret",
]


def make_connection(tenant, portal_id, app=None) -> Connection:
    app = app or HubSpotAppFactory(tenant=tenant)
    connection = connect(
        tenant, app, portal_id=portal_id, refresh_token=REFRESH_TOKEN, name=f"{tenant} portal"
    )
    connection.access_token = ACCESS_TOKEN
    connection.access_token_expires_at = timezone.now() + dt.timedelta(hours=1)
    connection.save()
    return connection


@pytest.fixture(autouse=True)
def hubspot_lists_inboxes():
    with mock.patch("connections.inboxes.available_inboxes", return_value=LISTED) as listed:
        yield listed


@pytest.fixture
def conn_a(tenant_a):
    return make_connection(tenant_a, 4242)


@pytest.fixture
def conn_b(tenant_b):
    return make_connection(tenant_b, 5353)


def change_url(connection) -> str:
    return reverse("admin:connections_connection_change", args=[connection.pk])


def action_url(connection, name: str) -> str:
    return reverse("admin:connections_connection_action", args=[connection.pk, name])


def status_url(connection) -> str:
    return reverse("admin:connections_connection_status", args=[connection.pk])


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# -- the page ----------------------------------------------------------------------------------


def test_console_shows_status_inboxes_registration_webhooks_and_access(client, admin_a, conn_a):
    ConnectedInbox.objects.create(
        connection=conn_a, inbox_id=101, name="Support", channel_account_id="777", state=InboxState.ACTIVE
    )
    BotApiKey.issue(conn_a)
    client.force_login(admin_a)

    page = client.get(change_url(conn_a)).text

    assert "Connected" in page and "4242" in page
    assert 'data-inbox-id="101"' in page and "<code>777</code>" in page
    # Listed by HubSpot but not connected yet: offered with a checkbox; connected ones are not.
    assert 'type="checkbox" name="inbox_id" value="102"' in page
    assert 'type="checkbox" name="inbox_id" value="101"' not in page
    assert 'name="reference"' in page
    assert "Not registered" in page and "Register channel" in page
    assert status_url(conn_a) in page
    assert f"/webhooks/hubspot/{conn_a.app.webhook_token}/app/" in page
    assert "conversation.propertyChange" in page and "assignedTo" in page
    assert "Issue a bot API key" in page and "Create a callback secret" in page
    for name in ACTIONS:
        if name != "disconnect":  # that one is behind a confirm page
            assert action_url(conn_a, name) in page, name
    assert reverse("admin:connections_connection_disconnect", args=[conn_a.pk]) in page


def test_console_reports_failed_registration_and_duplicates(client, admin_a, conn_a):
    ChannelRegistration.objects.filter(connection=conn_a).update(
        state=RegistrationState.FAILED,
        detail="HubSpot refused the key.",
        last_error="HubSpot refused the key.",
    )
    CustomChannel.objects.create(
        app=conn_a.app, channel_id="9", webhook_url="https://x.test/", duplicate_channel_ids=["10", "11"]
    )
    client.force_login(admin_a)

    page = client.get(change_url(conn_a)).text

    assert "Failed" in page and "HubSpot refused the key." in page
    assert "10, 11" in page and "Duplicate channels" in page
    assert "Re-register channel" in page


def test_hubspot_error_listing_inboxes_is_shown_not_raised(client, admin_a, conn_a, hubspot_lists_inboxes):
    from connections.hubspot import HubSpotError

    hubspot_lists_inboxes.side_effect = HubSpotError("Portal unreachable", status=503)
    client.force_login(admin_a)
    page = client.get(change_url(conn_a)).text
    assert "HubSpot did not list the portal&#x27;s inboxes: Portal unreachable" in page


# -- inboxes -------------------------------------------------------------------------------------


def test_add_inboxes_by_checkbox_and_by_pasted_settings_url(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(
        action_url(conn_a, "add-inboxes"),
        {
            "inbox_id": ["101"],
            "reference": "https://app.hubspot.com/live-messages-settings/4242/inboxes/102/channels",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == change_url(conn_a) + "#inboxes"
    assert {(i.inbox_id, i.name) for i in conn_a.inboxes.all()} == {(101, "Support"), (102, "Sales")}
    assert "Added inbox Support (101)" in messages_of(response)
    entries = AuditLogEntry.objects.filter(action="connection.inbox_add", actor=admin_a)
    assert entries.count() == 2


def test_unusable_inbox_reference_is_explained_and_adds_nothing(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(
        action_url(conn_a, "add-inboxes"),
        {"reference": "https://app.hubspot.com/live-messages/4242/inbox/555"},
        follow=True,
    )
    assert "conversation, not of an inbox" in messages_of(response)
    assert not conn_a.inboxes.exists()


def test_inbox_the_portal_does_not_have_is_refused(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(action_url(conn_a, "add-inboxes"), {"reference": "999"}, follow=True)
    assert "Inbox 999 was not added" in messages_of(response)
    assert not conn_a.inboxes.exists()


def test_remove_inbox(client, admin_a, conn_a):
    ConnectedInbox.objects.create(connection=conn_a, inbox_id=101, name="Support")
    client.force_login(admin_a)
    response = client.post(action_url(conn_a, "remove-inbox"), {"inbox_id": "101"}, follow=True)
    assert "Removed inbox Support (101)" in messages_of(response)
    assert conn_a.inboxes.get().state == InboxState.REMOVED
    assert 'data-inbox-id="101"' not in response.text
    assert AuditLogEntry.objects.filter(action="connection.inbox_remove", actor=admin_a).exists()


# -- registration ----------------------------------------------------------------------------------


def test_register_queues_once_however_often_it_is_clicked(
    client, admin_a, conn_a, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks() as queued:
        first = client.post(action_url(conn_a, "register"), follow=True)
        client.post(action_url(conn_a, "register"))
        client.get(change_url(conn_a))  # a reload changes nothing either

    assert len(queued) == 1  # one task, although registering was asked for twice
    assert ChannelRegistration.objects.get(connection=conn_a).state == RegistrationState.QUEUED
    assert "Channel registration requested. Now: Queued." in messages_of(first)
    assert 'data-in-progress="true"' in first.text  # the page polls while in progress
    assert AuditLogEntry.objects.filter(action="channel.register", actor=admin_a).count() == 2


def test_unregister(client, admin_a, conn_a, django_capture_on_commit_callbacks):
    ChannelRegistration.objects.filter(connection=conn_a).update(state=RegistrationState.ACTIVE)
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks() as queued:
        client.post(action_url(conn_a, "unregister"))
    assert len(queued) == 1
    assert ChannelRegistration.objects.get(connection=conn_a).state == RegistrationState.UNREGISTERING
    assert AuditLogEntry.objects.filter(action="channel.unregister", actor=admin_a).exists()


# -- the status endpoint ---------------------------------------------------------------------------


def test_status_endpoint_reports_progress_as_json(client, admin_a, conn_a):
    ChannelRegistration.objects.filter(connection=conn_a).update(
        state=RegistrationState.CONNECTING_INBOXES, detail="Connecting inboxes to channel 9."
    )
    CustomChannel.objects.create(app=conn_a.app, channel_id="9", webhook_url="https://x.test/")
    ConnectedInbox.objects.create(connection=conn_a, inbox_id=101, name="Support", channel_account_id="5")
    client.force_login(admin_a)

    response = client.get(status_url(conn_a))

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["registration"] | {"requested_at": None} == {
        "state": "connecting_inboxes",
        "label": "Connecting inboxes",
        "tone": "busy",
        "in_progress": True,
        "registered": True,
        "detail": "Connecting inboxes to channel 9.",
        "last_error": "",
        "requested_at": None,
        "finished_at": None,
    }
    assert data["channel"] == {"channel_id": "9", "duplicates": []}
    assert data["inboxes"] == [
        {
            "inbox_id": 101,
            "name": "Support",
            "state": "pending",
            "label": "Waiting to connect",
            "tone": "busy",
            "channel_account_id": "5",
            "last_error": "",
        }
    ]


def test_status_endpoint_runs_a_constant_number_of_queries(client, admin_a, conn_a):
    client.force_login(admin_a)

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(status_url(conn_a)).status_code == 200
        return len(captured)

    ConnectedInbox.objects.create(connection=conn_a, inbox_id=1)
    with_one = queries()
    for inbox_id in range(2, 12):
        ConnectedInbox.objects.create(connection=conn_a, inbox_id=inbox_id)
    CustomChannel.objects.create(app=conn_a.app, channel_id="9", webhook_url="https://x.test/")
    assert queries() == with_one
    assert with_one <= 7  # session, user, memberships, visibility, connection, channel, inboxes


# -- webhooks ------------------------------------------------------------------------------------


def test_setup_webhooks_success_and_refusal_messages(client, admin_a, conn_a):
    client.force_login(admin_a)
    ok = {
        "ok": True,
        "target_url": "u",
        "target_url_changed": True,
        "created": ["conversation.creation"],
        "reactivated": [],
    }
    with mock.patch("connections.webhook_setup.ensure_app_webhooks", return_value=ok) as ensure:
        response = client.post(action_url(conn_a, "setup-webhooks"), follow=True)
    ensure.assert_called_once_with(conn_a.app, actor=admin_a)
    assert "target URL set to u; created conversation.creation" in messages_of(response)

    refused = {"ok": False, "error": "HubSpot refused to let us configure webhooks of app 1."}
    with mock.patch("connections.webhook_setup.ensure_app_webhooks", return_value=refused):
        response = client.post(action_url(conn_a, "setup-webhooks"), follow=True)
    assert "HubSpot refused to let us configure webhooks" in messages_of(response)


def test_manual_webhook_steps_stay_open_until_automatic_setup_worked(client, admin_a, conn_a):
    client.force_login(admin_a)
    manual = '<details class="hitl-manual" id="webhooks-manual" open>'
    assert manual in client.get(change_url(conn_a)).text  # never set up

    AuditLogEntry.objects.create(
        tenant=conn_a.tenant,
        action="app.webhooks",
        outcome="failure",
        message="Refused.",
        target_type="connections.HubSpotApp",
        target_id=str(conn_a.app.pk),
    )
    assert manual in client.get(change_url(conn_a)).text

    AuditLogEntry.objects.create(
        tenant=conn_a.tenant,
        action="app.webhooks",
        outcome="success",
        message="Configured.",
        target_type="connections.HubSpotApp",
        target_id=str(conn_a.app.pk),
    )
    page = client.get(change_url(conn_a)).text
    assert manual not in page and 'id="webhooks-manual"' in page and "Configured." in page


def test_tenant_admin_cannot_set_up_a_platform_apps_webhooks(client, admin_a, tenant_a):
    shared = make_connection(tenant_a, 77, app=HubSpotAppFactory(tenant=None))
    client.force_login(admin_a)
    assert "set up by the hosting operator" in client.get(change_url(shared)).text
    with mock.patch("connections.webhook_setup.ensure_app_webhooks") as ensure:
        assert client.post(action_url(shared, "setup-webhooks")).status_code == 403
    ensure.assert_not_called()


# -- health and disconnect -------------------------------------------------------------------------


def test_check_health_shows_each_check(client, admin_a, conn_a):
    report = {
        "ok": False,
        "checks": [
            {"name": "token", "label": "Access token", "ok": True, "message": "Valid for 29 more minutes."},
            {"name": "channel", "label": "Custom channel", "ok": False, "message": "Not registered."},
            {
                "name": "last_webhook",
                "label": "Last webhook received",
                "ok": None,
                "message": "Not tracked yet.",
            },
        ],
    }
    client.force_login(admin_a)
    with mock.patch("connections.health.check_health", return_value=report) as check:
        response = client.post(action_url(conn_a, "check-health"), follow=True)
    check.assert_called_once_with(conn_a, actor=admin_a)
    assert response.redirect_chain == [(f"/admin/connections/connection/{conn_a.pk}/health/", 302)]
    page = response.text
    assert "1 problem found" in page
    assert "Valid for 29 more minutes." in page and "Not registered." in page and "Not checked" in page


def test_disconnect_asks_for_confirmation_first(client, admin_a, conn_a):
    ChannelRegistration.objects.filter(connection=conn_a).update(state=RegistrationState.ACTIVE)
    client.force_login(admin_a)
    confirm = client.get(reverse("admin:connections_connection_disconnect", args=[conn_a.pk]))
    assert confirm.status_code == 200
    assert "Yes, disconnect" in confirm.text and "unregister the channel" in confirm.text
    assert action_url(conn_a, "disconnect") in confirm.text
    conn_a.refresh_from_db()
    assert conn_a.status == ConnectionStatus.ACTIVE  # a GET changes nothing


def test_only_a_disconnected_connection_can_be_deleted(client, admin_a, conn_a):
    client.force_login(admin_a)
    delete = reverse("admin:connections_connection_delete", args=[conn_a.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    Connection.objects.filter(pk=conn_a.pk).update(status=ConnectionStatus.DISCONNECTED)
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Connection.objects.filter(pk=conn_a.pk).exists()


def test_renaming_is_audited(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(
        change_url(conn_a), {"name": "Acme EU", "unknown_contact": "refuse", "_continue": "1"}
    )
    assert response.status_code == 302
    conn_a.refresh_from_db()
    assert conn_a.name == "Acme EU"
    assert AuditLogEntry.objects.get(action="connection.update").details == {"fields": ["name"]}


def test_the_reopen_policy_is_chosen_on_the_connection_page(client, admin_a, conn_a):
    client.force_login(admin_a)
    assert conn_a.reopen_policy == "new_thread"
    page = client.get(change_url(conn_a)).content.decode()
    assert 'name="reopen_policy"' in page and "Reopen the closed thread" in page

    response = client.post(
        change_url(conn_a), {"name": conn_a.name, "reopen_policy": "same_thread", "_continue": "1"}
    )

    assert response.status_code == 302
    conn_a.refresh_from_db()
    assert conn_a.reopen_policy == "same_thread"
    # A post without the field (a script renaming the connection) keeps it.
    client.post(change_url(conn_a), {"name": "Renamed", "_continue": "1"})
    conn_a.refresh_from_db()
    assert (conn_a.name, conn_a.reopen_policy) == ("Renamed", "same_thread")


def test_saving_the_connection_page_writes_only_what_the_form_changed(client, admin_a, conn_a):
    """A token refresh that lands between the admin's read of the row and its save must survive:
    the page's save writes the fields its form changed, not the stale copy of every column."""
    from django.db.models.signals import pre_save

    client.force_login(admin_a)
    expires = timezone.now() + dt.timedelta(hours=6)

    def refresh_lands(sender, instance, update_fields=None, **kwargs):
        if instance.pk == conn_a.pk:
            Connection.objects.filter(pk=conn_a.pk).update(
                access_token="refreshed-meanwhile", access_token_expires_at=expires
            )

    pre_save.connect(refresh_lands, sender=Connection, weak=False)
    try:
        response = client.post(change_url(conn_a), {"name": "Acme EU", "_continue": "1"})
    finally:
        pre_save.disconnect(refresh_lands, sender=Connection)

    assert response.status_code == 302
    conn_a.refresh_from_db()
    assert conn_a.name == "Acme EU"
    assert str(conn_a.access_token) == "refreshed-meanwhile"
    assert conn_a.access_token_expires_at == expires
