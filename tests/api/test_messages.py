"""Messages, attachments, close and the events feed of an escalation."""

import base64

import pytest
import requests

from conversations import lifecycle
from conversations.models import Escalation, EscalationMessage, EscalationStatus
from sandbox.models import SandboxBehaviour, SandboxFile, SandboxMessage, SandboxThread
from tests.api.conftest import ADA_PHONE, start_body

pytestmark = pytest.mark.django_db(transaction=True)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def escalation(bot) -> Escalation:
    response = bot.post("escalations/", start_body(transcript=[]))
    assert response.status_code == 201, response.text
    return Escalation.objects.get(pk=response.json()["id"])


def thread_texts(esc: Escalation) -> list[str]:
    esc.refresh_from_db()
    return list(
        SandboxMessage.objects.filter(thread_id=int(esc.hubspot_thread_id), type="MESSAGE")
        .order_by("created_at", "id")
        .values_list("text", flat=True)
    )


def test_messages_publish_in_order_once_per_client_message_id(bot, escalation):
    url = f"escalations/{escalation.pk}/messages/"
    first = bot.post(url, {"text": "Are you there?", "client_message_id": "m-1"})
    repeat = bot.post(url, {"text": "Are you there?", "client_message_id": "m-1"})
    second = bot.post(url, {"text": "Hello?"})

    assert first.status_code == 202, first.text
    assert first.json()["position"] == 2 and first.json()["publish_status"] == "published"
    assert repeat.status_code == 200 and repeat.json()["position"] == 2
    assert second.status_code == 202 and second.json()["position"] == 3
    by_header = [bot.post(url, {"text": "Bye"}, headers={"Idempotency-Key": "h-1"}) for _ in range(2)]
    assert [r.status_code for r in by_header] == [202, 200]
    assert by_header[1].json()["position"] == 4 and by_header[1].json()["client_message_id"] == "h-1"
    assert thread_texts(escalation)[1:] == ["Are you there?", "Hello?", "Bye"]
    sender = SandboxMessage.objects.order_by("-id").first().senders[0]
    assert sender["deliveryIdentifier"] == {"type": "HS_PHONE_NUMBER", "value": ADA_PHONE}


def test_message_publish_after_5xx_does_not_duplicate(bot, escalation, settings):
    from conversations.tasks.publishing import publish_escalation

    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests = settings.HUBSPOT_MAX_RETRIES + 1
    behaviour.fail_path_contains = "/messages"
    behaviour.save()

    response = bot.post(f"escalations/{escalation.pk}/messages/", {"text": "Still waiting"})
    assert response.status_code == 202 and response.json()["publish_status"] == "pending"
    # Each run meets one refusal (the wait is the task's countdown), until they are served.
    for _ in range(settings.HUBSPOT_MAX_RETRIES):
        publish_escalation.apply(args=(str(escalation.pk),))
    assert SandboxBehaviour.current().fail_next_requests == 0
    publish_escalation.apply(args=(str(escalation.pk),))  # redelivered: nothing sent twice

    assert thread_texts(escalation)[1:] == ["Still waiting"]


def test_base64_attachment_is_uploaded_and_attached_as_file(bot, escalation):
    attachment = {
        "content_base64": base64.b64encode(PNG).decode(),
        "filename": "photo.png",
        "content_type": "image/png",
    }
    response = bot.post(
        f"escalations/{escalation.pk}/messages/", {"text": "See photo", "attachments": [attachment]}
    )

    assert response.status_code == 202, response.text
    assert response.json()["attachments"] == [
        {"name": "photo.png", "content_type": "image/png", "size": len(PNG)}
    ]
    file = SandboxFile.objects.get()
    assert bytes(file.content) == PNG and file.name.startswith("photo")
    message = SandboxMessage.objects.get(text="See photo")
    assert message.attachments[0]["type"] == "FILE" and str(message.attachments[0]["fileId"]) == str(file.pk)


def test_oversized_attachment_is_413_and_nothing_stored_or_sent(bot, escalation, settings):
    settings.HITL_ATTACHMENT_MAX_BYTES = 50
    attachment = {
        "content_base64": base64.b64encode(b"x" * 60).decode(),
        "filename": "a.txt",
        "content_type": "text/plain",
    }
    response = bot.post(f"escalations/{escalation.pk}/messages/", {"attachments": [attachment]})

    assert response.status_code == 413, response.text
    assert response.json()["error"] == "invalid_request"
    assert "attachments[0].content_base64: larger than 50 bytes" in response.json()["message"]
    assert escalation.messages.count() == 1 and not SandboxFile.objects.exists()
    assert SandboxMessage.objects.filter(type="MESSAGE").count() == 1


def test_disallowed_type_is_415_for_base64_and_url(bot, escalation, live_server):
    url = f"escalations/{escalation.pk}/messages/"
    exe = {
        "content_base64": base64.b64encode(b"MZ").decode(),
        "filename": "a.exe",
        "content_type": "application/x-msdownload",
    }
    by_url = {"url": f"{live_server.url}/static/connections/console.css"}

    first = bot.post(url, {"attachments": [exe]})
    second = bot.post(url, {"text": "css", "attachments": [by_url]})

    assert first.status_code == 415, first.text
    assert first.json()["error"] == "unsupported_attachment_type"
    assert first.json()["message"].startswith(
        "attachments[0].content_type: content type application/x-msdownload"
    )
    assert second.status_code == 415, second.text
    assert second.json()["message"].startswith("attachments[0].url: content type text/css is not allowed")
    assert escalation.messages.count() == 1 and not SandboxFile.objects.exists()


def test_url_attachment_is_fetched_uploaded_and_attached(bot, escalation, live_server, settings):
    settings.HITL_ATTACHMENT_ALLOWED_TYPES = ["image/svg+xml"]
    url = f"{live_server.url}/static/admin/img/icon-yes.svg"

    response = bot.post(
        f"escalations/{escalation.pk}/messages/", {"text": "icon", "attachments": [{"url": url}]}
    )

    assert response.status_code == 202, response.text
    assert response.json()["attachments"][0]["name"] == "icon-yes.svg"
    file = SandboxFile.objects.get()
    assert bytes(file.content) == requests.get(url, timeout=10).content
    message = SandboxMessage.objects.get(text="icon")
    assert str(message.attachments[0]["fileId"]) == str(file.pk)


def test_private_attachment_url_is_refused_without_the_flag(bot, escalation, settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False
    response = bot.post(
        f"escalations/{escalation.pk}/messages/", {"attachments": [{"url": "https://127.0.0.1/x.png"}]}
    )

    # Refused at connect time, in the words of an unreachable host (no map of our network).
    assert response.status_code == 422
    assert response.json()["error"] == "attachment_fetch_failed"
    assert response.json()["message"] == "attachments[0].url: could not connect to the URL's host."


def test_close_closes_thread_and_escalation_then_messages_are_409(bot, escalation):
    sent = bot.post(
        f"escalations/{escalation.pk}/messages/", {"text": "thanks, bye", "client_message_id": "m-9"}
    )
    closed = bot.post(f"escalations/{escalation.pk}/close/")
    retried = bot.post(
        f"escalations/{escalation.pk}/messages/", {"text": "thanks, bye", "client_message_id": "m-9"}
    )
    again = bot.post(f"escalations/{escalation.pk}/close/")
    message = bot.post(f"escalations/{escalation.pk}/messages/", {"text": "late"})

    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    assert again.status_code == 200 and again.json()["closed_at"] == closed.json()["closed_at"]
    escalation.refresh_from_db()
    assert escalation.close_reason == "bot_closed"
    assert SandboxThread.objects.get(pk=int(escalation.hubspot_thread_id)).status == "CLOSED"
    assert message.status_code == 409
    assert message.json()["error"] == "escalation_closed"
    assert sent.status_code == 202 and retried.status_code == 200  # a retry of an accepted message
    assert retried.json()["position"] == sent.json()["position"] == 2
    assert escalation.messages.count() == 2
    types = [e["type"] for e in bot.get(f"escalations/{escalation.pk}/events/").json()["results"]]
    assert types == ["escalation.opened", "escalation.closed"]


def test_failed_escalation_refuses_messages(bot, escalation):
    lifecycle.mark_failed(escalation, reason="no_agent", message="nobody came")
    response = bot.post(f"escalations/{escalation.pk}/messages/", {"text": "hi"})

    assert response.status_code == 409 and response.json()["error"] == "escalation_closed"
    assert not EscalationMessage.objects.filter(text="hi").exists()


def test_events_paging_after_and_limit(bot, escalation):
    lifecycle.mark_assigned(escalation, actor_id="A-1", name="Sam", email="sam@example.com")
    lifecycle.mark_closed(escalation, reason="agent_closed")
    url = f"escalations/{escalation.pk}/events/"

    page = bot.get(url, params={"limit": 2}).json()
    rest = bot.get(url, params={"after": page["next_after"]}).json()
    bad = bot.get(url, params={"after": "abc"})

    assert [e["sequence"] for e in page["results"]] == [1, 2] and page["next_after"] == 2
    assert [(e["sequence"], e["type"]) for e in rest["results"]] == [(3, "escalation.closed")]
    assert rest["next_after"] is None
    assert page["results"][1]["data"]["agent"] == {"id": "A-1", "name": "Sam", "email": "sam@example.com"}
    assert set(page["results"][0]) == {
        "id",
        "type",
        "escalation_id",
        "conversation_id",
        "sequence",
        "occurred_at",
        "data",
    }
    assert bad.status_code == 400 and bad.json()["message"].startswith("after: a whole number")
    detail = bot.get(f"escalations/{escalation.pk}/").json()
    assert detail["status"] == "closed" and detail["agent"]["name"] == "Sam" and detail["assigned_at"]


def test_list_filters_and_newest_first(bot, escalation):
    second = bot.post("escalations/", start_body(conversation_id="conv-2", transcript=[])).json()

    everything = bot.get("escalations/").json()
    by_conversation = bot.get("escalations/", params={"conversation_id": "conv-1"}).json()
    closed = bot.get("escalations/", params={"status": "closed"}).json()
    bad = bot.get("escalations/", params={"status": "nope"})

    assert [e["id"] for e in everything["results"]] == [second["id"], str(escalation.pk)]
    assert [e["id"] for e in by_conversation["results"]] == [str(escalation.pk)]
    assert closed["results"] == []
    assert bad.status_code == 400 and "status" in bad.json()["message"]
    assert everything["results"][0]["status"] == EscalationStatus.OPEN


def test_close_says_when_the_end_user_ended_the_chat(bot, escalation):
    bad = bot.post(f"escalations/{escalation.pk}/close/", {"reason": "agent_closed"})
    assert bad.status_code == 400 and "reason" in bad.text
    escalation.refresh_from_db()
    assert escalation.status != EscalationStatus.CLOSED  # a refused close changes nothing

    closed = bot.post(f"escalations/{escalation.pk}/close/", {"reason": "user_ended"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    escalation.refresh_from_db()
    assert escalation.close_reason == "user_ended" and escalation.closed_by is None
    event = escalation.events.get(type="escalation.closed")
    assert event.data["reason"] == "user_ended"
