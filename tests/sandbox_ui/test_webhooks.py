"""Outgoing webhooks: who gets which event, batching, signing, retries and the realism switches.

Deliveries go to a real HTTP server; signatures are checked with HubSpot's own implementation.
"""

import json
import time
from datetime import timedelta
from io import StringIO

import kombu.pools
import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hubspot.utils.signature import Signature

from sandbox import webhooks
from sandbox.models import SandboxBehaviour, SandboxSubscription, SandboxToken, SandboxWebhookDelivery
from sandbox.tasks import deliver_due_webhooks, deliver_webhook
from tests.jobs import captured_jobs
from tests.sandbox_ui.receiver import signature_valid
from tests.sandbox_ui.world import CLIENT_SECRET, build_world

Delivery = SandboxWebhookDelivery


def behaviour(**fields):
    SandboxBehaviour.objects.update_or_create(pk=1, defaults=fields)


def app_events(delivery):
    return [(e["subscriptionType"], e.get("propertyName"), e.get("propertyValue")) for e in delivery.body]


# Signing ------------------------------------------------------------------------------------------


def test_signature_matches_hubspots_own_implementation():
    body = b'[{"eventId":1,"objectId":9001}]'
    url = "https://portal.example.com/webhooks/hubspot/abc/app/?x=1"
    ts = str(int(time.time() * 1000))
    ours = webhooks.sign_v3(CLIENT_SECRET, "POST", url, body, ts)
    assert ours == Signature.get_signature(CLIENT_SECRET, body.decode(), "v3", http_uri=url, timestamp=ts)
    assert Signature.is_valid(
        ours,
        CLIENT_SECRET,
        body.decode(),
        http_uri=url,
        http_method="POST",
        signature_version="v3",
        timestamp=ts,
    )
    v1 = webhooks.signed_headers(CLIENT_SECRET, url, body)["X-HubSpot-Signature"]
    assert Signature.is_valid(v1, CLIENT_SECRET, body.decode(), signature_version="v1")


def test_event_ids_are_unique_and_increasing():
    ids = [webhooks.next_event_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[-1] < 2**53  # safe for JavaScript receivers


# Who gets what (rows only; nothing is sent before commit) -----------------------------------------


def test_events_of_one_transaction_are_batched_per_target(world):
    # The visitor's first message created the thread: creation + newMessage in one array.
    (delivery,) = Delivery.objects.all()
    assert delivery.kind == "app" and delivery.url == world.app.webhook_settings.target_url
    assert app_events(delivery) == [
        ("conversation.creation", None, None),
        ("conversation.newMessage", None, None),
    ]
    creation, new_message = delivery.body
    message = world.thread.messages.get()
    subscription = SandboxSubscription.objects.get(event_type="conversation.newMessage")
    assert new_message | {"eventId": 0, "occurredAt": 0} == {
        "eventId": 0,
        "subscriptionId": subscription.pk,
        "portalId": world.portal.portal_id,
        "appId": world.app.app_id,
        "occurredAt": 0,
        "subscriptionType": "conversation.newMessage",
        "attemptNumber": 0,
        "objectId": world.thread.pk,
        "changeSource": "API",
        "messageId": message.message_id,
        "messageType": "MESSAGE",
        "changeFlag": "NEW_MESSAGE",
    }
    assert isinstance(creation["eventId"], int) and creation["eventId"] != new_message["eventId"]
    assert abs(creation["occurredAt"] - time.time() * 1000) < 60_000
    assert delivery.status == "pending" and delivery.attempts == 0


def test_property_change_goes_only_to_subscriptions_for_that_property(world):
    Delivery.objects.all().delete()
    webhooks.emit_conversation_event(
        world.thread, "conversation.propertyChange", property_name="status", property_value="CLOSED"
    )
    webhooks.emit_conversation_event(
        world.thread, "conversation.propertyChange", property_name="isArchived", property_value="true"
    )
    (delivery,) = Delivery.objects.all()
    assert app_events(delivery) == [("conversation.propertyChange", "status", "CLOSED")]


def test_no_event_for_inactive_subscription_uninstalled_app_or_app_without_settings(db):
    world = build_world(with_thread=False)
    other = build_world(with_thread=False, suffix=1, installed=False)
    world.visitor_writes("hello")
    other.visitor_writes("hello")
    assert Delivery.objects.filter(app=world.app).count() == 1
    assert not Delivery.objects.filter(app=other.app).exists()  # not installed in its portal

    Delivery.objects.all().delete()
    SandboxToken.objects.filter(app=world.app).update(revoked_at=timezone.now())
    world.visitor_writes("still there?")
    assert not Delivery.objects.exists()  # uninstalled: every token revoked

    SandboxToken.objects.filter(app=world.app).update(revoked_at=None)
    SandboxSubscription.objects.filter(app=world.app).update(active=False)
    world.visitor_writes("anyone?")
    assert not Delivery.objects.exists()

    SandboxSubscription.objects.filter(app=world.app).update(active=True)
    world.app.webhook_settings.delete()
    world.visitor_writes("hello?")
    assert not Delivery.objects.exists()


def test_more_than_100_events_are_split_into_arrays_of_at_most_100(world):
    Delivery.objects.all().delete()
    with transaction.atomic():
        for _ in range(130):
            webhooks.emit_conversation_event(world.thread, "conversation.creation")
    sizes = sorted(len(d.body) for d in Delivery.objects.all())
    assert sizes == [30, 100]


def test_channel_event_is_one_object_with_string_ids(world):
    webhooks.emit_channel_event(
        world.channel,
        "CHANNEL_ACCOUNT_UPDATED",
        {"channelAccountId": world.account.pk, "authorized": False},
    )
    delivery = Delivery.objects.get(kind="channel")
    assert delivery.url == world.channel.webhook_url
    body = delivery.body
    assert body["type"] == "CHANNEL_ACCOUNT_UPDATED"
    assert body["portalId"] == str(world.portal.portal_id)
    assert body["channelId"] == str(world.channel.pk)
    assert body["channelAccountId"] == str(world.account.pk)
    assert body["authorized"] is False
    assert body["eventId"] and body["eventTimestamp"].endswith("Z")


def test_channel_without_webhook_url_gets_nothing(world):
    world.channel.webhook_url = ""
    webhooks.emit_channel_event(world.channel, "CHANNEL_ACCOUNT_CREATED", {})
    assert not Delivery.objects.filter(kind="channel").exists()


# Over the wire ----------------------------------------------------------------------------------


def test_app_webhook_is_posted_after_commit_signed_like_hubspot(transactional_db, receiver):
    world = build_world(app_webhook_url=receiver.url("/app-hook?tenant=acme"), with_thread=False)
    with transaction.atomic():
        world.visitor_writes("Hello")
        assert receiver.requests == []  # nothing leaves before the commit
    (request,) = receiver.wait_for(1)
    assert request.url == world.app.webhook_settings.target_url
    assert signature_valid(request, CLIENT_SECRET)
    assert not signature_valid(request, "another-secret")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("HubSpot")
    assert abs(int(request.headers["X-HubSpot-Request-Timestamp"]) - time.time() * 1000) < 60_000
    body = request.json
    assert [e["subscriptionType"] for e in body] == ["conversation.creation", "conversation.newMessage"]
    assert all(e["attemptNumber"] == 0 for e in body)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert json.loads(request.body) == delivery.body


def test_rolled_back_change_sends_nothing(transactional_db, receiver):
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        world.visitor_writes("Hello")
        raise RuntimeError("the request failed")
    assert not Delivery.objects.exists()
    time.sleep(0.2)
    assert receiver.requests == []

    # The next transaction starts a fresh batch (the dropped outbox is not reused).
    world.visitor_writes("Hello again")
    (request,) = receiver.wait_for(1)
    assert len(request.json) == 2


def test_savepoint_rollback_keeps_the_rest_of_the_batch(transactional_db, receiver):
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    with transaction.atomic():
        world.visitor_writes("Hello")
        try:
            with transaction.atomic():
                webhooks.emit_conversation_event(
                    world.thread,
                    "conversation.propertyChange",
                    property_name="status",
                    property_value="CLOSED",
                )
                raise ValueError
        except ValueError:
            pass
        webhooks.emit_conversation_event(
            world.thread, "conversation.propertyChange", property_name="assignedTo", property_value="A-101"
        )
    (request,) = receiver.wait_for(1)
    assert [(e["subscriptionType"], e.get("propertyName")) for e in request.json] == [
        ("conversation.creation", None),
        ("conversation.newMessage", None),
        ("conversation.propertyChange", "assignedTo"),
    ]


def test_failed_delivery_is_scheduled_not_retried_in_the_request(transactional_db, receiver):
    receiver.statuses.extend([500])
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    receiver.wait_for(1)
    time.sleep(0.2)
    assert len(receiver.posts()) == 1  # eager mode: no synchronous retry loop

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert "HTTP 500" in delivery.last_error
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 2 < wait <= 5  # first backoff: 5 s with up to 20 % jitter

    out = StringIO()
    call_command("sandbox_deliver_webhooks", stdout=out)  # not due yet
    assert out.getvalue().startswith("0 sent")
    assert len(receiver.posts()) == 1

    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("sandbox_deliver_webhooks", stdout=out)
    assert "1 sent: 1 delivered" in out.getvalue()
    first, second = receiver.wait_for(2)
    assert [e["attemptNumber"] for e in second.json] == [1, 1]
    assert [e["eventId"] for e in second.json] == [e["eventId"] for e in first.json]
    assert signature_valid(second, CLIENT_SECRET)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")


def test_gives_up_after_max_attempts(transactional_db, receiver):
    behaviour(webhook_max_attempts=3)
    receiver.statuses.extend([503, 502, 500])
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    receiver.wait_for(1)
    for _ in range(3):
        call_command("sandbox_deliver_webhooks", "--now", stdout=StringIO())
    assert len(receiver.posts()) == 3
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    assert delivery.next_attempt_at is None
    assert [e["attemptNumber"] for e in receiver.posts()[2].json] == [2, 2]

    # A person can still push it through by hand ("Retry now" on the console).
    deliver_webhook.delay(delivery.pk, manual=True)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)


def test_timeout_and_connection_error_are_retried(transactional_db, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    world = build_world(
        app_webhook_url=receiver.url("/app-hook"), channel_webhook_url="http://127.0.0.1:9/closed"
    )
    delivery = Delivery.objects.get(kind="app")
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert "timed out" in delivery.last_error

    webhooks.emit_channel_event(
        world.channel, "CHANNEL_ACCOUNT_CREATED", {"channelAccountId": world.account.pk}
    )
    channel_delivery = Delivery.objects.get(kind="channel")
    assert channel_delivery.status == "pending" and "ConnectionError" in channel_delivery.last_error


def test_task_is_idempotent(transactional_db, receiver):
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    receiver.wait_for(1)
    delivery = Delivery.objects.get()
    deliver_webhook.delay(delivery.pk)  # a redelivered task message
    deliver_webhook.delay(delivery.pk + 999)  # a delivery that no longer exists
    time.sleep(0.2)
    assert len(receiver.posts()) == 1
    assert Delivery.objects.get().attempts == 1


def test_with_a_worker_the_task_schedules_its_own_retry(transactional_db, receiver):
    receiver.statuses.append(500)
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    with captured_jobs():  # keep the initial send out of eager mode
        world.visitor_writes("Hello")
    delivery = Delivery.objects.get()
    with captured_jobs(as_worker=True) as queued:
        deliver_webhook(delivery.pk)  # runs like a worker would: not eager
    [job] = queued
    assert (job.name, job.args) == ("sandbox.tasks.deliver_webhook", (delivery.pk,))
    assert 4 <= job.countdown <= 5


def test_periodic_sweep_enqueues_due_deliveries(transactional_db, receiver):
    receiver.statuses.append(500)
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    receiver.wait_for(1)
    assert deliver_due_webhooks.delay().get() == 0
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert deliver_due_webhooks.delay().get() == 1
    receiver.wait_for(2)
    assert Delivery.objects.get().status == "delivered"


# Realism switches -------------------------------------------------------------------------------


def test_duplicate_deliveries_send_everything_twice(transactional_db, receiver):
    behaviour(duplicate_deliveries=True)
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert signature_valid(second, CLIENT_SECRET)
    assert Delivery.objects.get().attempts == 1


def test_reorder_deliveries_reverses_a_batch(transactional_db, receiver):
    behaviour(reorder_deliveries=True)
    world = build_world(
        app_webhook_url=receiver.url("/app-hook"),
        channel_webhook_url=receiver.url("/channel-hook"),
        with_thread=False,
    )
    with transaction.atomic():
        world.visitor_writes("Hello")
        webhooks.emit_channel_event(
            world.channel, "CHANNEL_ACCOUNT_UPDATED", {"channelAccountId": world.account.pk}
        )
    channel_post, app_post = receiver.wait_for(2)
    assert (channel_post.path, app_post.path) == ("/channel-hook", "/app-hook")
    assert [e["subscriptionType"] for e in app_post.json] == [
        "conversation.newMessage",
        "conversation.creation",
    ]
    assert signature_valid(channel_post, CLIENT_SECRET) and signature_valid(app_post, CLIENT_SECRET)


# A real worker process ----------------------------------------------------------------------------


@pytest.fixture
def fresh_kombu_pools():
    """Requested before celery_worker, so this runs after its teardown.

    That teardown force-closes kombu's process-wide connection pools but leaves them registered
    under their broker URL, so the next task published to the same URL (another worker test, or
    an eager .delay() through the closed memory:// pool) fails with "Acquire on closed pool".
    Resetting the registry lets later tests build fresh pools.
    """
    yield
    kombu.pools.reset()


@pytest.mark.postgres
@pytest.mark.redis
def test_real_worker_delivers_and_retries(fresh_kombu_pools, receiver, celery_worker, settings):
    settings.SANDBOX_WEBHOOK_RETRY_BASE_SECONDS = 1  # read by this process when it enqueues
    receiver.statuses.append(500)
    world = build_world(app_webhook_url=receiver.url("/app-hook"), with_thread=False)
    world.visitor_writes("Hello")
    try:
        # The worker has its own settings (5 s base): the retry comes back within ~5 s.
        _, second = receiver.wait_for(2, timeout=45)
    except AssertionError:
        celery_worker.terminate()
        raise AssertionError(celery_worker.communicate(timeout=15)[0]) from None
    assert [e["attemptNumber"] for e in second.json] == [1, 1]
    assert signature_valid(second, CLIENT_SECRET)
    deadline = time.monotonic() + 10
    while Delivery.objects.get().status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Delivery.objects.get().attempts == 2
