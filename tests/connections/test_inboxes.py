"""Inboxes: parsing what an admin pastes, HubSpot's list, adding and removing (against the sandbox)."""

import pytest

from connections import registration
from connections.inboxes import add_inbox, available_inboxes, parse_inbox_reference, remove_inbox
from connections.models import ConnectedInbox, InboxState
from core.models import AuditLogEntry
from sandbox.models import SandboxBehaviour, SandboxChannelAccount
from tests.connections.helpers import connect

SETTINGS_URL = "https://app.hubspot.com/live-messages-settings/123456/inboxes/1263703960/channels"


@pytest.mark.parametrize(
    "text",
    [
        "1263703960",
        "  1263703960\n",
        SETTINGS_URL,
        "https://app-eu1.hubspot.com/live-messages-settings/123456/inboxes/1263703960/channels?tab=x",
        "https://app.hubspot.com/live-messages-settings/123456/inboxes/1263703960",
        "app.hubspot.com/live-messages-settings/123456/inboxes/1263703960/settings",
        "https://app.hubspot.com/help-desk-settings/123456/inboxes/1263703960/channels",
        "https://app.hubspot.com/some-settings/123456/general?inboxId=1263703960",
    ],
)
def test_inbox_ids_and_settings_urls_are_understood(text):
    assert parse_inbox_reference(text) == 1263703960


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "No inbox given"),
        ("support inbox", "neither an inbox ID nor a HubSpot address"),
        ("0", "not a valid HubSpot inbox ID"),
        ("99999999999999999999", "not a valid HubSpot inbox ID"),
        ("https://app.hubspot.com/live-messages/123456/inbox/8812345678", "address of a conversation"),
        ("https://app.hubspot.com/live-messages-settings/123456/inboxes", "No inbox ID found"),
        ("https://example.com/", "No inbox ID found"),
        ("-5", "neither an inbox ID"),
    ],
)
def test_unusable_references_say_what_to_paste(text, hint):
    with pytest.raises(ValueError) as raised:
        parse_inbox_reference(text)
    assert hint in str(raised.value)
    assert "Settings → Inbox → Inboxes" in str(raised.value) or "not a valid" in str(raised.value)


def test_a_settings_url_of_another_portal_is_refused():
    with pytest.raises(
        ValueError, match="belongs to HubSpot portal 123456, but this connection is portal 42"
    ):
        parse_inbox_reference(SETTINGS_URL, portal_id=42)
    assert parse_inbox_reference(SETTINGS_URL, portal_id=123456) == 1263703960


# Against the sandbox ----------------------------------------------------------------------------

live = pytest.mark.django_db(transaction=True)


@live
def test_available_inboxes_lists_every_page(connection, hubspot):
    from sandbox.models import SandboxInbox, SandboxPortal

    portal = SandboxPortal.objects.get(portal_id=hubspot["portal_id"])
    for n in range(120):  # more than one page of 100
        SandboxInbox.objects.create(portal=portal, inbox_id=91000000 + n, name=f"Extra {n}")

    inboxes = available_inboxes(connection)

    assert len(inboxes) == 122
    assert inboxes[0] == {"id": 90000101, "name": "Support", "type": "INBOX"}
    assert {"id": 90000102, "name": "Sales", "type": "HELP_DESK"} in inboxes


@live
def test_add_inbox_names_it_from_hubspot_and_is_idempotent(connection, hubspot, admin_a):
    first = add_inbox(connection, hubspot["inbox_ids"][1], actor=admin_a)
    again = add_inbox(connection, hubspot["inbox_ids"][1], actor=admin_a)

    assert first.pk == again.pk
    assert (again.name, again.state, again.position) == ("Sales", InboxState.PENDING, 0)
    assert ConnectedInbox.objects.count() == 1
    entry = AuditLogEntry.objects.get(action="connection.inbox_add")  # only the change is recorded
    assert (entry.actor, entry.tenant, entry.details["validated"]) == (admin_a, connection.tenant, True)
    assert add_inbox(connection, hubspot["inbox_ids"][0]).position == 1


@live
def test_add_inbox_refuses_an_inbox_the_portal_does_not_have(connection, hubspot):
    with pytest.raises(ValueError, match="has no inbox 777"):
        add_inbox(connection, 777)
    assert not ConnectedInbox.objects.exists()


@live
def test_add_inbox_works_when_hubspot_cannot_be_asked(connection, hubspot, settings):
    settings.HUBSPOT_MAX_RETRIES = 0
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=5, fail_status=503)

    inbox = add_inbox(connection, 555, name="Typed by hand")

    assert (inbox.inbox_id, inbox.name) == (555, "Typed by hand")
    assert AuditLogEntry.objects.get(action="connection.inbox_add").details["validated"] is False


@live
def test_remove_inbox_switches_its_account_off_and_re_adding_restores_it(with_inboxes, hubspot, admin_a):
    registration.request_registration(with_inboxes)
    inbox_id = hubspot["inbox_ids"][0]

    removed = remove_inbox(with_inboxes, inbox_id, actor=admin_a)

    assert removed.state == InboxState.REMOVED and removed.last_error == ""
    account = SandboxChannelAccount.objects.get(inbox__inbox_id=inbox_id)
    assert account.authorized is False
    assert AuditLogEntry.objects.get(action="connection.inbox_remove").outcome == "success"

    add_inbox(with_inboxes, inbox_id)
    registration.request_registration(with_inboxes)

    account.refresh_from_db()
    assert account.authorized is True
    assert SandboxChannelAccount.objects.filter(inbox__inbox_id=inbox_id).count() == 1


@live
def test_a_failed_switch_off_is_reported_and_retried_by_the_next_registration(
    with_inboxes, hubspot, settings
):
    registration.request_registration(with_inboxes)
    inbox_id = hubspot["inbox_ids"][0]
    settings.HUBSPOT_MAX_RETRIES = 0
    SandboxBehaviour.objects.filter(pk=1).update(fail_next_requests=1, fail_status=500)

    removed = remove_inbox(with_inboxes, inbox_id)

    assert removed.state == InboxState.REMOVED
    assert "Could not switch the channel account off" in removed.last_error
    assert SandboxChannelAccount.objects.get(inbox__inbox_id=inbox_id).authorized is True
    assert AuditLogEntry.objects.get(action="connection.inbox_remove").outcome == "failure"

    registration.request_registration(with_inboxes)

    assert SandboxChannelAccount.objects.get(inbox__inbox_id=inbox_id).authorized is False
    assert ConnectedInbox.objects.get(inbox_id=inbox_id).last_error == ""


@live
def test_inbox_services_only_touch_the_given_connection(with_inboxes, hubspot, app, tenant_b):
    other = connect(tenant_b, app, portal_id=999, refresh_token="unused")
    ConnectedInbox.objects.create(connection=other, inbox_id=hubspot["inbox_ids"][0])

    assert remove_inbox(other, 424242) is None
    remove_inbox(with_inboxes, hubspot["inbox_ids"][0])

    assert ConnectedInbox.objects.get(connection=other).state == InboxState.PENDING
    assert ConnectedInbox.objects.get(connection=with_inboxes, inbox_id=hubspot["inbox_ids"][0]).state == (
        InboxState.REMOVED
    )
