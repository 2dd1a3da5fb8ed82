"""State of the demo bot behind the sandbox chat page (/sandbox/app/chat/).

The demo bot is a client of the portal's bot API like any real bot: it holds a bot API key and the
callback signing secret of the sandbox connection. Both are shown in plaintext only once when
issued, so the bot keeps its own copies, encrypted at rest like every other secret here.
"""

import uuid

from django.db import models

from core.fields import EncryptedTextField


class DemoBot(models.Model):
    """A single row (pk=1): the credentials the chat page uses to call the bot API."""

    connection_id = models.PositiveIntegerField(help_text="The sandbox connection the key belongs to.")
    api_key = EncryptedTextField(help_text="Bot API key (plaintext, encrypted at rest).")
    api_key_prefix = models.CharField(max_length=40, blank=True)
    callback_secret = EncryptedTextField(help_text="Secret the portal signs callbacks with.")
    callback_secret_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "demo bot"

    def __str__(self) -> str:
        return f"Demo bot (key {self.api_key_prefix}…)"


class DemoChat(models.Model):
    """One conversation a person had on the chat page, escalated through the bot API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation_id = models.CharField(max_length=100, unique=True, help_text="The bot's conversation id.")
    escalation_id = models.CharField(max_length=64, blank=True, db_index=True)
    user_name = models.CharField(max_length=200)
    user_phone = models.CharField(max_length=40, blank=True)
    user_email = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300)
    transcript = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, blank=True, help_text="As the API last reported it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.user_name}: {self.title}"


class DemoChatEntry(models.Model):
    """A line of the chat as the end user sees it: what they sent, or an event the bot received.

    Events are keyed by the envelope's `id`, so an event received both by callback and by pulling
    (or delivered twice) is stored once.
    """

    class Kind(models.TextChoices):
        USER = "user", "Sent by the user"
        EVENT = "event", "Event received"

    chat = models.ForeignKey(DemoChat, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event_id = models.CharField(max_length=64, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    type = models.CharField(max_length=40, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, blank=True, help_text="callback, pull, or api (user lines)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=("chat", "event_id"), condition=~models.Q(event_id=""), name="demo_chat_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.type or self.text[:30]}"
