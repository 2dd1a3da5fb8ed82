"""The agent console with Django's test client: pages, actions, and the webhooks actions cause."""

import importlib
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import clear_url_caches, reverse
from hubspot_sdk._models import validate_type
from hubspot_sdk.types.conversations.public_conversations_message import PublicConversationsMessage

from sandbox.models import (
    SandboxActor,
    SandboxBehaviour,
    SandboxFile,
    SandboxMessage,
    SandboxThread,
    SandboxWebhookDelivery,
)
from tests.sandbox_ui.receiver import signature_valid
from tests.sandbox_ui.world import CLIENT_SECRET, build_world, make_png

PNG = make_png()


def url(name, *args):
    return reverse(f"sandbox:app:console:{name}", args=args)


def thread_url(world, name="thread"):
    return url(name, world.portal.portal_id, world.thread.pk)


def new_deliveries(before_id=0):
    return list(SandboxWebhookDelivery.objects.filter(pk__gt=before_id).order_by("id"))


def last_id():
    last = SandboxWebhookDelivery.objects.order_by("-id").first()
    return last.pk if last else 0


# Pages --------------------------------------------------------------------------------------------


def test_home_lists_portals_with_counts(client, world):
    html = client.get(url("home")).content.decode()
    assert world.portal.name in html
    assert url("inbox", world.portal.portal_id) in html
    assert "<b>1</b> open" in html and "<b>2</b> agents" in html


def test_inbox_lists_threads_with_status_assignee_visitor_and_latest_message(client, world):
    world.visitor_writes("Second question", conversation="conv-2", visitor="visitor-2", name="Walt")
    world.threads[1].assigned_to = "A-102"
    world.threads[1].save()
    response = client.get(url("inbox", world.portal.portal_id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Vera" in html and "Walt" in html
    assert "Hi, I need a human please" in html and "Second question" in html
    assert "Bob Agent" in html and "Unassigned" in html
    assert "Open (2)" in html
    assert 'data-refresh-url="?status=OPEN&amp;partial=1"' in html

    partial = client.get(url("inbox", world.portal.portal_id), {"partial": "1"}).content.decode()
    assert "<html" not in partial and "Second question" in partial

    world.threads[1].status = "CLOSED"
    world.threads[1].save()
    closed = client.get(url("inbox", world.portal.portal_id), {"status": "CLOSED"}).content.decode()
    assert "Walt" in closed and "Vera" not in closed
    other_inbox = client.get(url("inbox", world.portal.portal_id), {"inbox": "999"}).content.decode()
    assert "All inboxes</h1>" in other_inbox


def test_unknown_portal_or_thread_is_404(client, world):
    assert client.get(url("inbox", 1)).status_code == 404
    assert client.get(url("thread", world.portal.portal_id, 999999)).status_code == 404
    other = build_world(suffix=5, with_thread=False)
    assert client.get(url("thread", other.portal.portal_id, world.thread.pk)).status_code == 404


def test_thread_page_shows_messages_with_direction_sender_and_attachments(client, world):
    file = SandboxFile.objects.create(
        portal=world.portal,
        name="shot.png",
        extension="png",
        content_type="image/png",
        content=PNG,
        size=len(PNG),
    )
    message = world.visitor_writes("Here is a screenshot")
    message.attachments = [{"type": "FILE", "fileId": str(file.pk), "fileUsageType": "IMAGE"}]
    message.save()
    html = client.get(thread_url(world)).content.decode()
    assert "Vera" in html and "visitor → inbox" in html
    assert "Hi, I need a human please" in html and "Here is a screenshot" in html
    assert '<img src="/sandbox/app/console/files/' in html and 'alt="shot.png"' in html
    assert "Assign to" in html and "Close conversation" in html
    assert "Acting as" in html and "Alice Agent (A-101)" in html

    partial = client.get(thread_url(world), {"partial": "1"}).content.decode()
    assert "<html" not in partial and "Here is a screenshot" in partial


def test_file_download_needs_the_token_and_only_images_render_inline(client, world):
    from sandbox.serializers import file_token

    png = SandboxFile.objects.create(
        portal=world.portal, name="a.png", content_type="image/png", content=PNG, size=len(PNG)
    )
    html = SandboxFile.objects.create(
        portal=world.portal, name="x.html", content_type="text/html", content=b"<script>", size=8
    )
    response = client.get(url("file", png.pk, file_token(png)))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png" and "attachment" not in response.get(
        "Content-Disposition", ""
    )
    response = client.get(url("file", html.pk, file_token(html)))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(url("file", png.pk, "0" * 32)).status_code == 404


# Actions ------------------------------------------------------------------------------------------


def test_assign_sets_assignee_and_emits_property_change(client, live_world, receiver):
    world = live_world
    start = last_id()
    response = client.post(thread_url(world, "thread-assign"), {"agent": "A-102"}, follow=True)
    assert "Assigned to Bob Agent (A-102)." in response.content.decode()
    world.thread.refresh_from_db()
    assert world.thread.assigned_to == "A-102"
    (delivery,) = new_deliveries(start)
    (event,) = delivery.body
    assert (event["subscriptionType"], event["propertyName"], event["propertyValue"]) == (
        "conversation.propertyChange",
        "assignedTo",
        "A-102",
    )
    assert event["objectId"] == world.thread.pk and event["changeSource"] == "CRM_UI"
    received = receiver.wait_for(2, path="/app-hook")[1]
    assert received.json == delivery.body and signature_valid(received, CLIENT_SECRET)

    # Assigning again to the same agent changes nothing and announces nothing.
    response = client.post(thread_url(world, "thread-assign"), {"agent": "A-102"}, follow=True)
    assert "already assigned" in response.content.decode()
    assert new_deliveries(delivery.pk) == []
    # Agents of another portal are not choices.
    client.post(thread_url(world, "thread-assign"), {"agent": "A-999"})
    world.thread.refresh_from_db()
    assert world.thread.assigned_to == "A-102"


def test_reply_with_text_and_attachment_publishes_an_agent_message(client, live_world, receiver):
    world = live_world
    start = last_id()
    response = client.post(
        thread_url(world, "thread-reply"),
        {
            "text": "  Hello Vera, Alice here.  ",
            "attachment": SimpleUploadedFile("steps.png", PNG, "image/png"),
        },
        follow=True,
    )
    assert "Reply sent." in response.content.decode()
    message = SandboxMessage.objects.get(thread=world.thread, direction="OUTGOING")
    assert message.text == "Hello Vera, Alice here."
    assert (message.client_type, message.created_by) == ("HUBSPOT", "A-101")
    assert message.senders[0]["actorId"] == "A-101" and message.senders[0]["name"] == "Alice Agent"
    assert message.recipients[0]["deliveryIdentifier"] == {
        "type": "CHANNEL_SPECIFIC_OPAQUE_ID",
        "value": "visitor-1",
    }
    assert message.in_reply_to_id == world.thread.messages.filter(direction="INCOMING").get().message_id
    file = SandboxFile.objects.get(pk=message.attachments[0]["fileId"])
    assert (file.name, file.content_type, bytes(file.content), file.portal) == (
        "steps.png",
        "image/png",
        PNG,
        world.portal,
    )

    app_delivery, channel_delivery = new_deliveries(start)
    (event,) = app_delivery.body
    assert (event["subscriptionType"], event["messageId"], event["messageType"]) == (
        "conversation.newMessage",
        message.message_id,
        "MESSAGE",
    )
    body = channel_delivery.body
    assert channel_delivery.kind == "channel" and channel_delivery.url == world.channel.webhook_url
    assert body["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert body["portalId"] == str(world.portal.portal_id)
    assert body["channelIntegrationThreadIds"] == ["conv-1"]
    parsed = validate_type(type_=PublicConversationsMessage, value=body["message"])  # HubSpot's model, strict
    assert parsed.direction == "OUTGOING" and parsed.text == "Hello Vera, Alice here."
    assert parsed.client.client_type == "HUBSPOT" and parsed.created_by == "A-101"
    assert parsed.attachments[0].type == "FILE" and parsed.attachments[0].file_id == str(file.pk)
    assert parsed.attachments[0].file_usage_type == "IMAGE"

    (received,) = receiver.wait_for(1, path="/channel-hook")
    assert received.url.endswith("/channel-hook?channel=1") and signature_valid(received, CLIENT_SECRET)
    assert received.json == body
    assert receiver.wait_for(2, path="/app-hook")[1].json == app_delivery.body

    page = client.get(thread_url(world)).content.decode()
    assert "agent → visitor" in page and "steps.png" in page


def test_a_resubmitted_reply_form_sends_once(client, world):
    data = {"text": "Only once", "token": "f" * 32}
    client.post(thread_url(world, "thread-reply"), data)
    client.post(thread_url(world, "thread-reply"), data)
    assert SandboxMessage.objects.filter(direction="OUTGOING").count() == 1


def test_reply_refuses_empty_messages_and_files_the_channel_does_not_accept(client, world):
    response = client.post(thread_url(world, "thread-reply"), {"text": "   "}, follow=True)
    assert "Write a message or attach a file." in response.content.decode()
    response = client.post(
        thread_url(world, "thread-reply"),
        {"text": "see zip", "attachment": SimpleUploadedFile("a.zip", b"PK", "application/zip")},
        follow=True,
    )
    assert "not application/zip" in response.content.decode()
    assert not SandboxMessage.objects.filter(direction="OUTGOING").exists()
    assert not SandboxFile.objects.exists()  # the failed action left nothing behind


def test_reply_as_the_chosen_agent_and_add_an_agent(client, world):
    client.post(url("act-as", world.portal.portal_id), {"agent": "A-102", "next": thread_url(world)})
    client.post(thread_url(world, "thread-reply"), {"text": "Bob here"})
    assert SandboxMessage.objects.get(direction="OUTGOING").created_by == "A-102"

    response = client.post(
        url("agent-create", world.portal.portal_id),
        {"name": "Cleo", "email": "cleo@acme.example.com"},
        follow=True,
    )
    assert "Added agent" in response.content.decode()
    cleo = SandboxActor.objects.get(name="Cleo")
    assert (cleo.actor_id, cleo.type) == ("A-103", "AGENT")
    client.post(thread_url(world, "thread-reply"), {"text": "Cleo here"})
    assert SandboxMessage.objects.filter(direction="OUTGOING").order_by("-id")[0].created_by == "A-103"


def test_close_and_reopen_emit_status_changes(client, live_world, receiver):
    world = live_world
    start = last_id()
    response = client.post(thread_url(world, "thread-close"), follow=True)
    assert "Conversation closed." in response.content.decode()
    assert "Reopen conversation" in response.content.decode()
    world.thread.refresh_from_db()
    assert world.thread.status == "CLOSED" and world.thread.closed_at is not None
    client.post(thread_url(world, "thread-close"))  # already closed: nothing new
    client.post(thread_url(world, "thread-reopen"))
    world.thread.refresh_from_db()
    assert world.thread.status == "OPEN"
    events = [d.body[0] for d in new_deliveries(start)]
    assert [(e["propertyName"], e["propertyValue"]) for e in events] == [
        ("status", "CLOSED"),
        ("status", "OPEN"),
    ]


def test_actions_are_post_only_and_need_csrf(world, staff):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff)
    assert csrf_client.get(thread_url(world, "thread-close")).status_code == 405
    assert csrf_client.post(thread_url(world, "thread-close")).status_code == 403
    assert SandboxThread.objects.get(pk=world.thread.pk).status == "OPEN"


def test_portal_without_agents_offers_to_add_one(client, db):
    world = build_world(with_thread=True)
    SandboxActor.objects.filter(type="AGENT").delete()
    html = client.get(url("inbox", world.portal.portal_id)).content.decode()
    assert "This account has no agents yet" in html
    response = client.post(thread_url(world, "thread-reply"), {"text": "hi"}, follow=True)
    assert "no agent to reply as" in response.content.decode()


# Behaviour and deliveries -----------------------------------------------------------------------


def test_behaviour_form_saves_switches(client, db):
    response = client.get(url("behaviour"))
    assert b"Send every webhook twice." in response.content
    response = client.post(
        url("behaviour"),
        {
            "duplicate_deliveries": "on",
            "reorder_deliveries": "on",
            "webhook_max_attempts": "3",
            "fail_next_requests": "2",
            "fail_status": "429",
            "fail_path_contains": "/messages",
            "rate_limit_per_10s": "0",
            "access_token_ttl_seconds": "60",
            "channel_list_delay_seconds": "0",
        },
        follow=True,
    )
    assert b"Sandbox behaviour saved" in response.content
    current = SandboxBehaviour.current()
    assert current.duplicate_deliveries and current.reorder_deliveries
    assert (current.webhook_max_attempts, current.fail_next_requests, current.fail_status) == (3, 2, 429)
    response = client.post(url("behaviour"), {"webhook_max_attempts": "0", "fail_status": "503"})
    assert b"At least one attempt." in response.content


def test_deliveries_page_lists_and_retries(client, transactional_db, receiver):
    receiver.statuses.append(500)
    world = build_world(app_webhook_url=receiver.url("/app-hook"))
    receiver.wait_for(1)
    delivery = SandboxWebhookDelivery.objects.get()
    assert delivery.status == "pending"

    html = client.get(url("deliveries")).content.decode()
    assert f'data-delivery="{delivery.pk}"' in html
    assert "conversation.creation, conversation.newMessage" in html
    assert "HTTP 500" in html and "Retry now" in html and "next try in" in html
    assert "Send due retries now (0)" in html
    assert (
        "<html" not in client.get(url("deliveries"), {"partial": "1", "status": "pending"}).content.decode()
    )

    response = client.post(
        url("delivery-retry", delivery.pk), {"next": url("deliveries") + "?status=all"}, follow=True
    )
    assert f"Delivery #{delivery.pk} sent: HTTP 200." in response.content.decode()
    _, second = receiver.wait_for(2)
    assert signature_valid(second, CLIENT_SECRET)
    assert [e["attemptNumber"] for e in second.json] == [1, 1]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert "Send again" in client.get(url("deliveries"), {"status": "delivered"}).content.decode()
    assert client.get(url("deliveries"), {"status": "failed"}).content.decode().count("data-delivery=") == 0

    # "Send due retries now" flushes what eager mode left scheduled.
    receiver.statuses.append(502)
    client.post(thread_url(world, "thread-close"))
    receiver.wait_for(3)
    SandboxWebhookDelivery.objects.filter(status="pending").update(next_attempt_at=None)
    response = client.post(url("deliveries-send-due"), follow=True)
    assert "Sent 1 due deliveries; 1 delivered." in response.content.decode()
    time.sleep(0.1)
    assert len(receiver.posts()) == 4


# Mounting -----------------------------------------------------------------------------------------


def test_console_and_consent_exist_only_with_the_sandbox_on(settings):
    import hitl_portal.urls

    try:
        settings.HUBSPOT_SANDBOX = False
        importlib.reload(hitl_portal.urls)
        assert not any(str(p.pattern) == "sandbox/" for p in hitl_portal.urls.urlpatterns)
    finally:
        settings.HUBSPOT_SANDBOX = True
        importlib.reload(hitl_portal.urls)
        clear_url_caches()
    assert any(str(p.pattern) == "sandbox/" for p in hitl_portal.urls.urlpatterns)


@pytest.mark.parametrize(
    "path", ["/sandbox/app/console/", "/sandbox/app/console/behaviour/", "/sandbox/app/console/deliveries/"]
)
def test_pages_render(client, db, path):
    assert client.get(path).status_code == 200
