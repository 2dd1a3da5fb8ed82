"""Request and response shapes of the bot API (they are also the OpenAPI schema)."""

from __future__ import annotations

import base64
import binascii
import json

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from conversations.models import Escalation, EscalationMessage, EscalationStatus
from conversations.phones import PhoneNumberError, to_e164
from conversations.queue import queue_for

MAX_TRANSCRIPT_ENTRIES = 200
MAX_TRANSCRIPT_TEXT = 5000
MAX_MESSAGE_TEXT = 20000
MAX_DESCRIPTION = 10000
MAX_METADATA_BYTES = 16 * 1024


class UserSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="With country code; stored as E.164."
    )
    email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        error_messages={"invalid": "not a valid email address; expected e.g. ada@example.com."},
    )

    def validate_phone(self, value: str) -> str:
        if not value:
            return ""
        try:
            return to_e164(value)
        except PhoneNumberError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_email(self, value: str) -> str:
        return value.strip().lower() if value else ""

    def validate(self, attrs):
        if not attrs.get("phone") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"phone": "give the user's phone (with country code) and/or email to find the contact."}
            )
        return attrs


class TranscriptEntrySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "bot"])
    text = serializers.CharField(max_length=MAX_TRANSCRIPT_TEXT, trim_whitespace=False)
    at = serializers.DateTimeField(required=False, help_text="When it was said (ISO 8601).")


class StartEscalationSerializer(serializers.Serializer):
    conversation_id = serializers.CharField(max_length=255, help_text="The bot's own conversation id.")
    user = UserSerializer()
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    transcript = TranscriptEntrySerializer(many=True, required=False)
    inbox_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    callback_url = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, help_text="https URL receiving signed events."
    )
    locale = serializers.CharField(max_length=35, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False, help_text="Any JSON object; returned in nothing, kept.")

    def validate_transcript(self, value):
        if len(value) > MAX_TRANSCRIPT_ENTRIES:
            # 413 rather than 400: the request is well-formed but too large (views map this code).
            raise serializers.ValidationError(
                f"at most {MAX_TRANSCRIPT_ENTRIES} entries (got {len(value)}).", code="too_large"
            )
        return value

    def validate_metadata(self, value):
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(
                f"at most {MAX_METADATA_BYTES} bytes of JSON.", code="too_large"
            )
        return value

    def validate_callback_url(self, value):
        from conversations.callback_urls import CallbackURLError, validate_callback_url

        if not value:
            return ""
        try:
            return validate_callback_url(value, what="callback_url")
        except CallbackURLError as exc:
            # The helper names the field already; DRF adds it again in the path.
            raise serializers.ValidationError(str(exc).removeprefix("callback_url: ")) from None


class AttachmentInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False, help_text="Fetched once by the portal.")
    content_base64 = serializers.CharField(required=False, trim_whitespace=True)
    filename = serializers.CharField(max_length=200, required=False)
    content_type = serializers.CharField(max_length=100, required=False)

    def validate_filename(self, value):
        # The name goes into HubSpot and into Content-Disposition headers of downloads: a control
        # character (CR/LF especially) would split a header.
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise serializers.ValidationError("must not contain control characters (CR, LF, tab, NUL...).")
        return value

    def validate(self, attrs):
        if bool(attrs.get("url")) == bool(attrs.get("content_base64")):
            raise serializers.ValidationError(
                "give either url or content_base64 (with filename and content_type)."
            )
        if attrs.get("content_base64"):
            missing = [f for f in ("filename", "content_type") if not attrs.get(f)]
            if missing:
                raise serializers.ValidationError({f: "required with content_base64." for f in missing})
            # Reject before decoding something huge: base64 is 4/3 of the bytes.
            if len(attrs["content_base64"]) > settings.HITL_ATTACHMENT_MAX_BYTES * 4 // 3 + 4:
                raise serializers.ValidationError(
                    {"content_base64": f"larger than {settings.HITL_ATTACHMENT_MAX_BYTES} bytes."},
                    code="too_large",
                )
            try:
                attrs["content"] = base64.b64decode(attrs["content_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise serializers.ValidationError({"content_base64": "not valid base64."}) from None
        return attrs


class SendMessageSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=MAX_MESSAGE_TEXT, required=False, allow_blank=True, trim_whitespace=False
    )
    attachments = AttachmentInputSerializer(many=True, required=False)
    client_message_id = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Your id; a repeat returns the same message.",
    )

    def validate_attachments(self, value):
        limit = settings.HITL_ATTACHMENT_MAX_COUNT
        if len(value) > limit:
            raise serializers.ValidationError(f"at most {limit} attachments per message.", code="too_large")
        return value

    def validate(self, attrs):
        if not (attrs.get("text") or "").strip() and not attrs.get("attachments"):
            raise serializers.ValidationError({"text": "give text and/or attachments."})
        return attrs


class CloseEscalationSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=[("bot_closed", "The bot ended the hand-off"), ("user_ended", "The end user ended the chat")],
        required=False,
        default="bot_closed",
        help_text="On whose behalf the bot closes: shown to support leads and repeated in escalation.closed.",
    )
    by = serializers.ChoiceField(
        choices=[("bot", "The bot ends the hand-off"), ("user", "The end user left")],
        required=False,
        help_text="The same question as `reason`, by who: `user` is `reason: user_ended`. Default bot.",
    )

    def validate(self, attrs):
        by = attrs.pop("by", None)
        if by is not None:
            wanted = "user_ended" if by == "user" else "bot_closed"
            if "reason" in self.initial_data and attrs["reason"] != wanted:
                raise serializers.ValidationError({"by": f"contradicts reason {attrs['reason']!r}."})
            attrs["reason"] = wanted
        return attrs


class AgentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()


class QueueSerializer(serializers.Serializer):
    position = serializers.IntegerField(
        help_text="1 is next: waiting escalations of the inbox, oldest first."
    )
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="Likely seconds still to wait; null without enough history."
    )
    basis = serializers.ChoiceField(
        choices=["hour_of_week", "inbox_recent", "none"],
        help_text="What the estimate rests on: this hour of the week, the inbox's recent weeks, or nothing.",
    )
    open_now = serializers.BooleanField(
        required=False,
        help_text="Only for an inbox with opening hours: whether it is open now. The estimate "
        "then counts the closed hours until the next opening.",
    )
    next_opening_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Only for an inbox with opening hours: now when open, else its next opening (UTC).",
    )


class EscalationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=EscalationStatus.choices)
    hubspot_thread_id = serializers.SerializerMethodField()
    inbox_id = serializers.SerializerMethodField()
    agent = serializers.SerializerMethodField()
    failure_reason = serializers.SerializerMethodField()
    failure_message = serializers.SerializerMethodField()
    queue = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = (
            "id",
            "status",
            "conversation_id",
            "hubspot_thread_id",
            "inbox_id",
            "agent",
            "failure_reason",
            "failure_message",
            "created_at",
            "assigned_at",
            "closed_at",
            "queue",
            "links",
        )

    def get_hubspot_thread_id(self, obj) -> str | None:
        return obj.hubspot_thread_id or None

    def get_inbox_id(self, obj) -> int | None:
        return obj.inbox.inbox_id if obj.inbox_id else None

    def get_agent(self, obj) -> AgentSerializer(allow_null=True):  # type: ignore[valid-type]
        if not obj.agent_actor_id:
            return None
        return {"id": obj.agent_actor_id, "name": obj.agent_name, "email": obj.agent_email}

    def get_failure_reason(self, obj) -> str | None:
        return obj.failure_reason or None

    def get_failure_message(self, obj) -> str | None:
        return obj.failure_message or None

    def get_queue(self, obj) -> QueueSerializer(allow_null=True):  # type: ignore[valid-type]
        # Only the single-escalation answers carry it: a list would cost two queries per row.
        if not self.context.get("with_queue"):
            return None
        return queue_for(obj)

    def get_links(self, obj) -> dict[str, str]:
        request = self.context.get("request")

        def url(name: str) -> str:
            path = reverse(f"bot-api:{name}", kwargs={"pk": obj.pk})
            return request.build_absolute_uri(path) if request else path

        return {
            "self": url("escalation-detail"),
            "messages": url("escalation-messages"),
            "close": url("escalation-close"),
            "events": url("escalation-events"),
        }


class MessageSerializer(serializers.ModelSerializer):
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = EscalationMessage
        fields = (
            "position",
            "role",
            "text",
            "attachments",
            "client_message_id",
            "publish_status",
            "publish_error",
            "sent_at",
            "published_at",
        )

    def get_attachments(self, obj) -> list[dict]:
        return [
            {"name": a.get("name"), "content_type": a.get("content_type"), "size": a.get("size")}
            for a in obj.attachments or []
        ]


class EventSerializer(serializers.Serializer):
    """The envelope of EscalationEvent.envelope(), as sent to callbacks."""

    id = serializers.UUIDField(help_text="The same on every retry: the bot's dedupe key.")
    type = serializers.CharField(
        help_text="escalation.opened, escalation.queue_updated, escalation.assigned, escalation.message, "
        "escalation.closed, escalation.failed, escalation.sla_breached; ping (test events, callbacks only). "
        "Ignore types you do not know."
    )
    escalation_id = serializers.UUIDField(allow_null=True, help_text="null only in ping.")
    conversation_id = serializers.CharField(allow_null=True, help_text="null only in ping.")
    sequence = serializers.IntegerField(min_value=0, help_text="1, 2, 3 … per escalation; 0 in ping.")
    occurred_at = serializers.CharField(help_text="UTC, ISO 8601.")
    data = serializers.DictField(help_text="The type's details (docs/bot-api.md).")


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.IntegerField(allow_null=True, help_text="Pass as ?after= for the next page.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    message = serializers.CharField()


class RateLimitedSerializer(ErrorSerializer):
    """429 `rate_limited`: which limit, and when to try again (also the Retry-After header)."""

    retry_after = serializers.IntegerField(help_text="Seconds until the key may send again.")
    limit = serializers.IntegerField(help_text="Requests allowed per window.")
    scope = serializers.ChoiceField(choices=["bot_api", "bot_api_start"])
