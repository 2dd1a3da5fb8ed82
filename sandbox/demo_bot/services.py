"""What the chat page does on the person's behalf, each as one call to the bot API."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from sandbox.demo_bot import inbox
from sandbox.demo_bot.client import ApiError, BotApi
from sandbox.models.demo_bot import DemoBot, DemoChat, DemoChatEntry

__all__ = ["ApiError", "callback_url", "close", "pull", "send", "start"]


def callback_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("sandbox:app:chat:callback")


def _api(bot: DemoBot) -> BotApi:
    return BotApi(bot.api_key)


def start(
    bot: DemoBot,
    *,
    user: dict,
    identify_by: str,
    title: str,
    description: str,
    transcript: list[dict],
    token: str,
) -> DemoChat:
    """Escalate: the chat row exists first, so callbacks racing the API's answer find it."""
    conversation_id = f"demo-chat-{token[:16]}"
    existing = DemoChat.objects.filter(conversation_id=conversation_id).exclude(escalation_id="").first()
    if existing:
        return existing  # the same form submitted twice
    now = timezone.now()
    lines = [{"role": item["role"], "text": item["text"], "at": now.isoformat()} for item in transcript]
    chat, _ = DemoChat.objects.update_or_create(
        conversation_id=conversation_id,
        defaults={
            "user_name": user["name"],
            "user_phone": user["phone"] if identify_by == "phone" else "",
            "user_email": user["email"] if identify_by == "email" else "",
            "title": title,
            "transcript": lines,
        },
    )
    identity = {"phone": user["phone"]} if identify_by == "phone" else {"email": user["email"]}
    payload = {
        "conversation_id": conversation_id,
        "user": {"name": user["name"], **identity},
        "title": title,
        "description": description,
        "transcript": lines,
        "callback_url": callback_url(),
        "locale": "en",
        "metadata": {"source": "sandbox chat page"},
    }
    try:
        escalation = _api(bot).start(payload, idempotency_key=f"demo-chat-{token}")
    except ApiError:
        if not chat.entries.exists():
            chat.delete()
        raise
    _apply(chat, escalation)
    return chat


def _apply(chat: DemoChat, escalation: dict) -> None:
    chat.escalation_id = str(escalation.get("id") or chat.escalation_id)
    # A callback may already have moved the status on (e.g. assigned); the API's answer is older.
    if not chat.status or not chat.entries.filter(kind=DemoChatEntry.Kind.EVENT).exists():
        chat.status = escalation.get("status") or chat.status
    chat.save(update_fields=["escalation_id", "status"])


def send(bot: DemoBot, chat: DemoChat, text: str, *, token: str) -> DemoChatEntry:
    _api(bot).send(chat.escalation_id, text, idempotency_key=f"demo-msg-{token}")
    return DemoChatEntry.objects.create(chat=chat, kind=DemoChatEntry.Kind.USER, text=text, source="api")


def close(bot: DemoBot, chat: DemoChat) -> None:
    """The chat page's user pressed "End conversation": the bot closes on their behalf."""
    escalation = _api(bot).close(chat.escalation_id, reason="user_ended")
    if isinstance(escalation, dict) and escalation.get("status"):
        DemoChat.objects.filter(pk=chat.pk).update(status=escalation["status"])


def pull(bot: DemoBot, chat: DemoChat) -> int:
    """Fetch events after the last one stored (the fallback for bots without a callback URL)."""
    envelopes = _api(bot).events(chat.escalation_id, after=inbox.last_sequence(chat))
    return sum(inbox.store(chat, envelope, source="pull") for envelope in envelopes)


def refresh_status(bot: DemoBot, chat: DemoChat) -> None:
    escalation = _api(bot).get(chat.escalation_id)
    DemoChat.objects.filter(pk=chat.pk).update(status=escalation.get("status") or chat.status)
