"""Channel registration end to end against the sandbox over HTTP: what HubSpot holds afterwards.

Tasks run eagerly in the test settings, so `request_registration` runs the whole task (retries
included) when its transaction commits; tests that look at one step call the task function
directly with `retry` replaced by a recorder.
"""

import time
from unittest import mock

import pytest
from celery.exceptions import Retry

from connections import registration, tasks
from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from connections.webhook_urls import channel_webhook_url
from core.models import AuditLogEntry
from sandbox.models import SandboxChannel
from tests.connections.helpers import accounts_by_inbox, live_channels, sandbox_app

pytestmark = pytest.mark.django_db(transaction=True)


def state_of(connection) -> ChannelRegistration:
    return ChannelRegistration.objects.get(connection=connection)


def test_registration_creates_one_channel_and_an_account_per_inbox(with_inboxes, hubspot, app):
    registration.request_registration(with_inboxes)

    reg = state_of(with_inboxes)
    assert reg.state == RegistrationState.ACTIVE, reg.detail
    assert reg.finished_at is not None and "connected to 2 inboxes" in reg.detail
    channel = live_channels(hubspot).get()
    assert channel.webhook_url == channel_webhook_url(app)
    assert channel.capabilities["deliveryIdentifierTypes"] == [
        "HS_EMAIL_ADDRESS",
        "HS_PHONE_NUMBER",
        "CHANNEL_SPECIFIC_OPAQUE_ID",
    ]
    assert channel.capabilities["threadingModel"] == "INTEGRATION_THREAD_ID"
    assert channel.capabilities["allowOutgoingMessages"] is True
    assert "application/pdf" in channel.capabilities["allowedFileAttachmentMimeTypes"]
    assert CustomChannel.objects.get(app=app).channel_id == str(channel.pk)
    accounts = accounts_by_inbox(hubspot)
    assert sorted(accounts) == sorted(hubspot["inbox_ids"])
    for inbox in ConnectedInbox.objects.filter(connection=with_inboxes):
        (account,) = accounts[inbox.inbox_id]
        assert (account.channel_id, account.authorized, account.name) == (channel.pk, True, "Acme HITL")
        assert inbox.channel_account_id == str(account.pk)
        assert inbox.state == InboxState.ACTIVE and inbox.connected_at is not None


def test_ten_registrations_in_a_row_leave_one_channel_and_one_account_per_inbox(with_inboxes, hubspot):
    for _ in range(10):
        registration.request_registration(with_inboxes)

    assert state_of(with_inboxes).state == RegistrationState.ACTIVE
    assert live_channels(hubspot).count() == 1
    assert {inbox: len(accounts) for inbox, accounts in accounts_by_inbox(hubspot).items()} == {
        inbox_id: 1 for inbox_id in hubspot["inbox_ids"]
    }


def test_a_queued_registration_is_not_enqueued_again(with_inboxes):
    with mock.patch.object(tasks.register_channel, "delay") as delay:
        for _ in range(3):
            registration.request_registration(with_inboxes)

    delay.assert_called_once_with(with_inboxes.pk)
    assert state_of(with_inboxes).state == RegistrationState.QUEUED
    requests = AuditLogEntry.objects.filter(action="channel.register", details__phase="requested")
    assert requests.count() == 3
    assert sum("not queued again" in e.message for e in requests) == 2


def test_a_lost_run_can_be_requested_again(with_inboxes):
    with mock.patch.object(tasks.register_channel, "delay") as delay:
        registration.request_registration(with_inboxes)
        ChannelRegistration.objects.filter(connection=with_inboxes).update(
            updated_at=state_of(with_inboxes).updated_at - registration.STALE_AFTER
        )
        registration.request_registration(with_inboxes)

    assert delay.call_count == 2


def test_an_existing_channel_with_our_webhook_url_is_reused(with_inboxes, hubspot, app):
    existing = SandboxChannel.objects.create(
        app=sandbox_app(hubspot), name="Made earlier", capabilities={}, webhook_url=channel_webhook_url(app)
    )

    registration.request_registration(with_inboxes)

    assert state_of(with_inboxes).state == RegistrationState.ACTIVE
    assert list(live_channels(hubspot)) == [existing]
    assert CustomChannel.objects.get(app=app).channel_id == str(existing.pk)
    assert all(
        a.channel_id == existing.pk for accounts in accounts_by_inbox(hubspot).values() for a in accounts
    )


def test_duplicate_channels_are_reported_not_deleted(with_inboxes, hubspot, app):
    made = [
        SandboxChannel.objects.create(
            app=sandbox_app(hubspot), name=f"Dup {n}", capabilities={}, webhook_url=channel_webhook_url(app)
        )
        for n in range(3)
    ]
    other = SandboxChannel.objects.create(
        app=sandbox_app(hubspot),
        name="Someone else's",
        capabilities={},
        webhook_url="https://elsewhere.test/x",
    )

    registration.request_registration(with_inboxes)

    channel = CustomChannel.objects.get(app=app)
    assert channel.channel_id == str(made[0].pk)
    assert channel.duplicate_channel_ids == [str(made[1].pk), str(made[2].pk)]
    assert live_channels(hubspot).count() == 4  # nothing deleted, nothing created
    assert "duplicate channels" in state_of(with_inboxes).detail
    finished = AuditLogEntry.objects.get(action="channel.register", details__phase="finished")
    assert finished.details["duplicates"] == channel.duplicate_channel_ids
    assert not other.accounts.exists()


def test_a_channel_deleted_at_hubspot_is_replaced(with_inboxes, hubspot, app):
    registration.request_registration(with_inboxes)
    first = live_channels(hubspot).get()
    SandboxChannel.objects.filter(pk=first.pk).update(archived=True)

    registration.request_registration(with_inboxes)

    second = live_channels(hubspot).get()
    assert second.pk != first.pk
    assert CustomChannel.objects.get(app=app).channel_id == str(second.pk)
    assert {len(a) for a in accounts_by_inbox(hubspot).values()} == {2}  # one per inbox per channel
    assert all(a.channel_id == second.pk for a in second.accounts.all())


def test_an_existing_account_is_reused_and_switched_back_on(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    account = accounts_by_inbox(hubspot)[hubspot["inbox_ids"][0]][0]
    account.authorized = False
    account.save()
    ConnectedInbox.objects.filter(connection=with_inboxes).update(channel_account_id="")

    registration.request_registration(with_inboxes)

    account.refresh_from_db()
    assert account.authorized is True
    assert len(accounts_by_inbox(hubspot)[hubspot["inbox_ids"][0]]) == 1
    assert ConnectedInbox.objects.get(inbox_id=hubspot["inbox_ids"][0]).channel_account_id == str(account.pk)


def test_waiting_for_listing_reschedules_instead_of_sleeping(with_inboxes, hubspot, behaviour):
    behaviour.channel_list_delay_seconds = 600
    behaviour.save()
    registration.request_registration(with_inboxes, enqueue=False)

    with mock.patch.object(tasks.register_channel, "retry", side_effect=Retry()) as retry:
        started = time.monotonic()
        with pytest.raises(Retry):
            tasks.register_channel(with_inboxes.pk)
        assert time.monotonic() - started < 5
        retry.assert_called_once_with(countdown=registration.LISTING_COUNTDOWNS[0], kwargs=mock.ANY)
        assert retry.call_args.kwargs["kwargs"] == {"listing_checks": 1, "failures": 0}

        reg = state_of(with_inboxes)
        assert reg.state == RegistrationState.WAITING_FOR_LISTING
        assert "waiting for HubSpot to list it" in reg.detail
        assert not accounts_by_inbox(hubspot)

        # The rescheduled run (HubSpot still not listing it) neither duplicates nor connects.
        with pytest.raises(Retry):
            tasks.register_channel(with_inboxes.pk, listing_checks=1)
        assert retry.call_args.kwargs["countdown"] == registration.LISTING_COUNTDOWNS[1]
        assert live_channels(hubspot).count() == 1

    SandboxChannel.objects.update(listed_after=None)  # HubSpot lists it now
    assert tasks.register_channel(with_inboxes.pk, listing_checks=2) == RegistrationState.ACTIVE
    assert len(accounts_by_inbox(hubspot)) == 2


def test_listing_wait_is_bounded_and_then_carries_on(with_inboxes, hubspot, behaviour):
    behaviour.channel_list_delay_seconds = 600
    behaviour.save()

    # Eager mode re-runs a retry at once; the bound on checks still ends the chain.
    registration.request_registration(with_inboxes)

    assert state_of(with_inboxes).state == RegistrationState.ACTIVE
    assert live_channels(hubspot).count() == 1
    assert len(accounts_by_inbox(hubspot)) == 2


def test_server_errors_and_rate_limits_are_retried_by_the_task(with_inboxes, hubspot, behaviour, settings):
    settings.HUBSPOT_MAX_RETRIES = 0  # so the task, not the client, has to retry
    behaviour.fail_next_requests, behaviour.fail_status = 2, 503
    behaviour.fail_path_contains = "custom-channels"
    behaviour.save()
    registration.request_registration(with_inboxes, enqueue=False)

    with (
        mock.patch.object(tasks.register_channel, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.register_channel(with_inboxes.pk)
    assert retry.call_args.kwargs["countdown"] >= registration.TRANSIENT_BACKOFF_BASE / 2
    assert retry.call_args.kwargs["kwargs"]["failures"] == 1
    assert "trying again in" in state_of(with_inboxes).detail

    behaviour.refresh_from_db()
    behaviour.fail_next_requests, behaviour.fail_status = 1, 429
    behaviour.save()
    # Through Celery's own retry machinery (eager: re-run at once): 503, then 429, then success.
    tasks.register_channel.apply(args=[with_inboxes.pk], kwargs={"failures": 1})
    assert state_of(with_inboxes).state == RegistrationState.ACTIVE
    assert live_channels(hubspot).count() == 1


def test_transient_errors_that_persist_end_in_failed(with_inboxes, hubspot, behaviour, settings):
    settings.HUBSPOT_MAX_RETRIES = 0
    behaviour.fail_next_requests, behaviour.fail_status = 1000, 502
    behaviour.fail_path_contains = "custom-channels"
    behaviour.save()

    registration.request_registration(with_inboxes)

    reg = state_of(with_inboxes)
    assert reg.state == RegistrationState.FAILED
    assert "HubSpot kept failing" in reg.detail and "HTTP 502" in reg.detail


def test_a_refused_developer_key_fails_with_a_readable_reason(with_inboxes, hubspot, app):
    app.developer_api_key = "not-the-key"
    app.save()

    registration.request_registration(with_inboxes)

    reg = state_of(with_inboxes)
    assert reg.state == RegistrationState.FAILED
    assert f"HubSpot refused the developer API key of app {app.app_id}" in reg.detail
    assert "HTTP 401" in reg.detail and reg.last_error == reg.detail
    assert "not-the-key" not in reg.detail
    assert not live_channels(hubspot).exists()
    failed = AuditLogEntry.objects.get(action="channel.register", details__phase="failed")
    assert failed.outcome == "failure" and failed.tenant == with_inboxes.tenant


def test_a_revoked_install_fails_with_a_readable_reason(with_inboxes, hubspot):
    from sandbox.models import SandboxToken

    SandboxToken.objects.filter(token=hubspot["refresh_token"]).update(revoked_at="2026-01-01T00:00:00Z")

    registration.request_registration(with_inboxes)

    reg = state_of(with_inboxes)
    assert reg.state == RegistrationState.FAILED
    assert "no longer accepts this connection's refresh token" in reg.detail


def test_an_inbox_hubspot_refuses_is_marked_failed_and_the_others_connect(with_inboxes, hubspot):
    ConnectedInbox.objects.create(connection=with_inboxes, inbox_id=123, position=5)

    registration.request_registration(with_inboxes)

    reg = state_of(with_inboxes)
    assert reg.state == RegistrationState.FAILED
    assert "inbox 123" in reg.detail and "does not exist" in reg.detail
    bad = ConnectedInbox.objects.get(inbox_id=123)
    assert bad.state == InboxState.FAILED and "does not exist" in bad.last_error
    assert ConnectedInbox.objects.filter(state=InboxState.ACTIVE).count() == 2


def test_audit_entries_for_start_and_finish(with_inboxes, admin_a):
    registration.request_registration(with_inboxes, actor=admin_a)

    phases = list(
        AuditLogEntry.objects.filter(action="channel.register")
        .order_by("id")
        .values_list("details__phase", "actor")
    )
    assert phases == [("requested", admin_a.pk), ("started", None), ("finished", None)]
    assert all(
        e.tenant_id == with_inboxes.tenant_id for e in AuditLogEntry.objects.filter(action="channel.register")
    )


def test_a_registration_without_a_developer_key_fails_before_calling_hubspot(with_inboxes, app):
    app.developer_api_key = ""
    app.save()

    registration.request_registration(with_inboxes)

    assert "has no developer API key" in state_of(with_inboxes).detail


def test_a_stale_message_for_a_finished_registration_does_nothing(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    finished = state_of(with_inboxes)

    assert tasks.register_channel(with_inboxes.pk) == RegistrationState.ACTIVE

    assert state_of(with_inboxes).updated_at == finished.updated_at
