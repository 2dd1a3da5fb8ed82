"""POST /api/v1/escalations/: publishing the intro and transcript, idempotency, contact check."""

import pytest

from connections.hubspot import HubSpotRateLimited
from conversations.models import Escalation, EscalationMessage, EscalationStatus, PublishStatus
from conversations.publishing import publish_pending
from sandbox.models import SandboxBehaviour, SandboxMessage, SandboxThread
from tests.api.conftest import ADA_EMAIL, ADA_PHONE, start_body

pytestmark = pytest.mark.django_db(transaction=True)


def thread_messages(esc: Escalation) -> list[SandboxMessage]:
    return list(
        SandboxMessage.objects.filter(thread_id=int(esc.hubspot_thread_id), type="MESSAGE").order_by(
            "created_at", "id"
        )
    )


def test_start_publishes_intro_and_transcript_in_order(bot, provisioned):
    response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    body = response.json()
    esc = Escalation.objects.get(pk=body["id"])
    assert body["status"] == "open" and body["conversation_id"] == "conv-1"
    assert body["hubspot_thread_id"] == esc.hubspot_thread_id != ""
    assert body["inbox_id"] == provisioned["inbox_ids"][0]
    assert body["agent"] is None and body["failure_reason"] is None
    assert set(body["links"]) == {"self", "messages", "close", "events"}
    assert esc.user_phone == ADA_PHONE
    assert esc.api_key.last_used_at is not None  # the key that started it, marked as used

    messages = thread_messages(esc)
    assert [m.text for m in messages] == [
        "Ada Lovelace needs help: Refund for order 42\n\nThe parcel arrived damaged.",
        "User: My parcel is broken",
        "Bot: Sorry to hear that. Let me get a person.",
    ]
    for message in messages:
        assert message.direction == "INCOMING"
        assert message.senders[0]["deliveryIdentifier"] == {"type": "HS_PHONE_NUMBER", "value": ADA_PHONE}
    # One visitor in HubSpot; the sender's name tells the agent which history lines the bot wrote.
    names = [m.senders[0]["name"] for m in messages]
    assert names == ["Ada Lovelace", "Ada Lovelace", "Bot (for Ada Lovelace)"]
    thread = SandboxThread.objects.get(pk=int(esc.hubspot_thread_id))
    assert thread.integration_thread_id == esc.integration_thread_id
    assert str(thread.channel_account_id) == esc.inbox.channel_account_id
    assert list(esc.messages.values_list("publish_status", flat=True)) == [PublishStatus.PUBLISHED] * 3
    assert [e["type"] for e in bot.get(f"escalations/{esc.pk}/events/").json()["results"]] == [
        "escalation.opened"
    ]


def test_email_identifies_the_user_when_no_phone(bot):
    body = start_body(user={"name": "Ada", "email": ADA_EMAIL.upper()}, transcript=[])
    response = bot.post("escalations/", body)

    assert response.status_code == 201, response.text
    esc = Escalation.objects.get()
    [message] = thread_messages(esc)
    assert message.senders[0]["deliveryIdentifier"] == {"type": "HS_EMAIL_ADDRESS", "value": ADA_EMAIL}


def test_same_conversation_or_idempotency_key_returns_the_existing_escalation(bot):
    first = bot.post("escalations/", start_body(), headers={"Idempotency-Key": "k-1"})
    again = bot.post("escalations/", start_body())
    by_key = bot.post("escalations/", start_body(conversation_id="other"), headers={"Idempotency-Key": "k-1"})

    assert first.status_code == 201
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert by_key.status_code == 200 and by_key.json()["id"] == first.json()["id"]
    assert Escalation.objects.count() == 1
    assert SandboxMessage.objects.filter(type="MESSAGE").count() == 3


def test_unknown_contact_is_422_naming_the_search_and_nothing_is_stored_or_sent(bot):
    body = start_body(user={"name": "Nobody", "phone": "+44 7700 900999"})
    response = bot.post("escalations/", body)

    assert response.status_code == 422
    assert response.json() == {
        "error": "contact_not_found",
        "message": "No HubSpot contact has the phone +447700900999 (searched phone and mobilephone).",
    }
    assert not Escalation.objects.exists() and not EscalationMessage.objects.exists()
    assert not SandboxMessage.objects.exists()


def test_unknown_email_is_422_naming_the_email(bot):
    response = bot.post("escalations/", start_body(user={"name": "X", "email": "nobody@example.com"}))

    assert response.status_code == 422
    assert (
        response.json()["message"] == "No HubSpot contact has the email nobody@example.com (searched email)."
    )
    assert not Escalation.objects.exists() and not SandboxMessage.objects.exists()


def test_hubspot_down_at_request_time_accepts_and_the_task_fails_an_unknown_contact(bot, settings):
    behaviour = SandboxBehaviour.current()
    # As many failures as the request-time search makes attempts (one retry): it gives up and
    # accepts; the publish task's search is answered.
    behaviour.fail_next_requests = 2
    behaviour.fail_path_contains = "contacts/search"
    behaviour.save()
    body = start_body(user={"name": "Nobody", "phone": "+44 7700 900999"})

    response = bot.post("escalations/", body)

    # Accepted (the search could not be made), then the publish task searched again (eagerly,
    # after commit) and failed the escalation instead of publishing for an unknown user.
    assert response.status_code == 201, response.text
    assert response.json()["failure_reason"] == "contact_not_found"
    esc = Escalation.objects.get()
    assert esc.status == EscalationStatus.FAILED
    [event] = bot.get(f"escalations/{esc.pk}/events/").json()["results"]
    assert event["type"] == "escalation.failed"
    assert (
        event["data"]["message"]
        == "No HubSpot contact has the phone +447700900999 (searched phone and mobilephone)."
    )
    assert not SandboxMessage.objects.exists()


def test_publish_retry_after_5xx_resumes_without_duplicates(bot, settings):
    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests = settings.HUBSPOT_MAX_RETRIES + 1
    behaviour.fail_path_contains = "/messages"
    behaviour.save()

    response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    esc = Escalation.objects.get()
    assert esc.status == EscalationStatus.REQUESTED
    assert set(esc.messages.values_list("publish_status", flat=True)) == {PublishStatus.PENDING}
    from conversations.tasks.publishing import publish_escalation

    # Each run meets one refusal (its Retry-After is the task's countdown), until they are served.
    for _ in range(settings.HUBSPOT_MAX_RETRIES + 1):
        publish_escalation.apply(args=(str(esc.pk),))
    assert SandboxBehaviour.current().fail_next_requests == 0
    publish_escalation.apply(args=(str(esc.pk),))  # a redelivered task changes nothing
    esc.refresh_from_db()
    assert esc.status == EscalationStatus.OPEN
    assert [m.text.split(":")[0] for m in thread_messages(esc)] == ["Ada Lovelace needs help", "User", "Bot"]
    assert SandboxMessage.objects.filter(type="MESSAGE").count() == 3


def test_permanent_refusal_fails_the_escalation_with_publish_failed(bot):
    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests = 1
    behaviour.fail_status = 400
    behaviour.fail_path_contains = "/messages"
    behaviour.save()

    response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "failed" and response.json()["failure_reason"] == "publish_failed"
    assert response.json()["failure_message"].startswith("HubSpot refused message #1:")
    assert not SandboxMessage.objects.exists()
    esc = Escalation.objects.get()
    assert list(esc.messages.values_list("publish_status", flat=True)) == ["failed", "pending", "pending"]
    [event] = bot.get(f"escalations/{esc.pk}/events/").json()["results"]
    assert event["type"] == "escalation.failed" and event["data"]["reason"] == "publish_failed"


def test_callback_url_is_validated_and_defaults_to_the_connection(bot, provisioned, settings):
    from connections.models import Connection

    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False
    refused = bot.post("escalations/", start_body(callback_url="http://127.0.0.1:9/cb"))
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("callback_url: must be an https:// URL")
    assert not Escalation.objects.exists()

    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True
    Connection.objects.filter(pk=provisioned["connection_id"]).update(
        callback_url="http://127.0.0.1:9/default"
    )
    created = bot.post("escalations/", start_body(transcript=[]))
    assert created.status_code == 201
    assert Escalation.objects.get().callback_url == "http://127.0.0.1:9/default"


def test_a_429_is_left_to_the_tasks_countdown_instead_of_sleeping_in_the_worker(bot):
    """HubSpot's Retry-After is waited for by the task's countdown (the pool process is free for
    other tenants' work meanwhile), not slept through inside the call."""
    from connections.hubspot.countdown import task_countdown

    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests = 3
    behaviour.fail_status = 429  # the sandbox says Retry-After: 1
    behaviour.fail_path_contains = "/messages"
    behaviour.save()

    response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requested"  # accepted; publishing is owed
    # One attempt, then the refusal went back to the task: nothing retried within the call.
    assert SandboxBehaviour.current().fail_next_requests == 2
    esc = Escalation.objects.get()
    with pytest.raises(HubSpotRateLimited) as refused:
        publish_pending(esc.pk)
    assert refused.value.retry_after == 1.0
    assert SandboxBehaviour.current().fail_next_requests == 1
    assert task_countdown(0, refused.value) == 1.0  # HubSpot's wait, not the 5 s backoff
    assert [task_countdown(n, RuntimeError("no Retry-After")) for n in range(4)] == [1, 2, 4, 8]


def test_a_blip_is_still_retried_within_the_call(bot, settings):
    settings.HUBSPOT_TASK_MAX_SLEEP_SECONDS = 5.0  # room for the jittered backoff's first step
    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests = 1
    behaviour.fail_status = 502
    behaviour.fail_path_contains = "/messages"
    behaviour.save()

    response = bot.post("escalations/", start_body())

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    assert SandboxMessage.objects.filter(type="MESSAGE").count() == 3
