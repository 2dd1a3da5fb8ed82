"""The sandbox chat page's own duties: idempotent set-up, a callback URL that only takes correctly
signed envelopes (each once), and API errors shown to the person instead of swallowed."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from connections.models import BotApiKey, CallbackSecret
from sandbox.demo_bot import setup, signing
from sandbox.models.demo_bot import DemoBot, DemoChat, DemoChatEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "/sandbox/app/chat/callback/"


@pytest.fixture
def demo_bot(e2e_settings):
    return setup.ensure()


def envelope(chat, sequence=1, type_="escalation.opened", **data):
    return {
        "id": f"evt-{sequence}",
        "type": type_,
        "escalation_id": chat.escalation_id,
        "conversation_id": chat.conversation_id,
        "sequence": sequence,
        "occurred_at": "2026-11-25T07:00:00Z",
        "data": data,
    }


def post(client, body: bytes, header: str | None):
    headers = {"HTTP_X_HITL_SIGNATURE": header} if header is not None else {}
    return client.post(CALLBACK, body, content_type="application/json", **headers)


def test_setup_is_idempotent_and_keeps_secrets_encrypted(demo_bot):
    again = setup.ensure()

    assert again.api_key_prefix == demo_bot.api_key_prefix
    assert DemoBot.objects.count() == 1
    assert BotApiKey.objects.filter(name=setup.KEY_NAME, revoked_at=None).count() == 1
    assert demo_bot.api_key.reveal().startswith(demo_bot.api_key_prefix)
    assert CallbackSecret.objects.get(pk=demo_bot.callback_secret_id).secret == demo_bot.callback_secret
    with connection.cursor() as cursor:  # the stored columns, not the decrypting field
        cursor.execute(f"SELECT api_key, callback_secret FROM {DemoBot._meta.db_table}")
        raw = cursor.fetchone()
    assert demo_bot.api_key.reveal() not in raw[0] and demo_bot.callback_secret.reveal() not in raw[1]

    # A revoked key is replaced on the next set-up, not reused.
    BotApiKey.objects.filter(prefix=demo_bot.api_key_prefix).update(revoked_at="2026-01-01T00:00Z")
    assert setup.current() is None
    assert setup.ensure().api_key_prefix != demo_bot.api_key_prefix


def test_callbacks_need_a_valid_signature_and_are_stored_once(client, demo_bot):
    chat = DemoChat.objects.create(conversation_id="c-1", escalation_id="e-1", user_name="Ada", title="T")
    body = json.dumps(envelope(chat)).encode()
    secret = demo_bot.callback_secret.reveal()

    for header in (
        None,
        "",
        "t=1,v1=00",
        signing.sign(body, "not-the-secret"),
        signing.sign(body, secret, 1),
    ):
        assert post(client, body, header).status_code == 401, header
    assert not DemoChatEntry.objects.exists()

    good = signing.sign(body, secret)
    assert post(client, body, good).json() == {"stored": True}
    assert post(client, body, good).json() == {"stored": False}  # a retried delivery
    assert DemoChatEntry.objects.get().type == "escalation.opened"
    chat.refresh_from_db()
    assert chat.status == "open"


def test_an_api_error_is_shown_to_the_person(client, demo_bot):
    client.force_login(UserFactory(username="demo-staff", is_staff=True))
    page = client.get(reverse("sandbox:app:chat:home"))
    form = page.context["form"]
    data = {
        "contact": "unknown",
        "identify_by": "phone",
        "title": "Help",
        "description": "",
        "transcript": "User: hi",
        "token": form.initial["token"],
    }

    response = client.post(reverse("sandbox:app:chat:start"), data)

    assert response.status_code == 400
    text = response.content.decode()
    assert "422" in text and "contact_not_found" in text and "+15550199999" in text
    assert not DemoChat.objects.exists()


def test_the_page_verifies_what_the_portal_signs_during_a_rotation():
    """The chat page checks signatures with its own code (a bot would); it must accept the
    portal's header with two secrets active, whichever of them it holds."""
    from conversations.callbacks import signature_header

    body = b'{"id": "x"}'
    header = signature_header(["new-secret", "old-secret"], body)
    assert signing.verify(header, body, "old-secret") and signing.verify(header, body, "new-secret")
    assert not signing.verify(header, body, "other-secret")
    assert not signing.verify(header, body + b" ", "old-secret")


def test_the_page_tells_the_waiting_user_their_place_and_updates_it(client, demo_bot):
    chat = DemoChat.objects.create(conversation_id="c-q", escalation_id="e-q", user_name="Ada", title="T")
    secret = demo_bot.callback_secret.reveal()
    client.force_login(UserFactory(is_staff=True))
    state_url = reverse("sandbox:app:chat:state", args=[chat.pk])

    def deliver(sequence, type_, **data):
        body = json.dumps(envelope(chat, sequence, type_, **data)).encode()
        assert post(client, body, signing.sign(body, secret)).json() == {"stored": True}
        return client.get(state_url).json()

    state = deliver(
        1, "escalation.opened", queue={"position": 3, "estimated_wait_seconds": 240, "basis": "x"}
    )
    assert state["queue"] == "You are 3rd in line, about 4 minutes"
    assert state["lines"][-1]["text"].endswith("You are 3rd in line, about 4 minutes.")
    state = deliver(2, "escalation.queue_updated", queue={"position": 1, "estimated_wait_seconds": 20})
    assert state["queue"] == "You are next in line, less than a minute"
    state = deliver(3, "escalation.assigned", agent={"name": "Alice"})
    assert state["queue"] == ""  # the wait is over
    page = client.get(reverse("sandbox:app:chat:chat", args=[chat.pk])).content.decode()
    assert 'id="chat-queue" role="status" aria-live="polite"' in page
