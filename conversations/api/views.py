"""Bot API views: escalations, their messages, close, and the events feed.

Every queryset is filtered by the authenticated key's connection, so another connection's (or
tenant's) escalation is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from conversations import escalations
from conversations.api import attachments as attachment_files
from conversations.api import serializers as s
from conversations.api.authentication import BotKeyAuthentication
from conversations.api.callback_schema import EVENT_CALLBACK
from conversations.api.errors import ApiError
from conversations.api.parsers import SafeJSONParser
from conversations.api.recording import RecordsBotRequests
from conversations.api.throttling import BotApiRateLimits
from conversations.models import Escalation, EscalationEvent, EscalationStatus
from core import jobs, metrics

# Largest request bodies: a start (transcript up to 200 entries of 5000 chars) and a message (base64 files).
MAX_START_BODY = 2 * 1024 * 1024
EVENTS_DEFAULT_LIMIT = 100
EVENTS_MAX_LIMIT = 500
# What publishing a message changes that its answer shows (MessageSerializer); the rest of the
# row is what the request itself just wrote.
PUBLISH_FIELDS = ("publish_status", "publish_error", "published_at")

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input; `message` names the field."),
    401: OpenApiResponse(s.ErrorSerializer, description="Missing, unknown or revoked key."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not an escalation of this connection."),
    429: OpenApiResponse(
        s.RateLimitedSerializer,
        description="rate_limited: this key sent too many requests (or starts); wait Retry-After seconds.",
    ),
    # core/errors.py: never an HTML page, whatever fails.
    500: OpenApiResponse(s.ErrorSerializer, description="server_error: a failure on our side (logged)."),
    503: OpenApiResponse(
        s.ErrorSerializer,
        description="Temporarily unavailable (secrets_unavailable, hubspot_unavailable): "
        "retry after Retry-After seconds.",
    ),
}
# Response headers of every bot API answer (conversations/api/throttling.py).
RATE_LIMIT_HEADERS = [
    OpenApiParameter(
        "Retry-After", int, OpenApiParameter.HEADER, response=[429], description="Seconds to wait."
    ),
    OpenApiParameter(
        "X-RateLimit-Limit", int, OpenApiParameter.HEADER, response=True, description="Requests per window."
    ),
    OpenApiParameter(
        "X-RateLimit-Remaining",
        int,
        OpenApiParameter.HEADER,
        response=True,
        description="Requests left in this window.",
    ),
    OpenApiParameter(
        "X-RateLimit-Reset",
        int,
        OpenApiParameter.HEADER,
        response=True,
        description="Seconds until the window resets.",
    ),
]


def _max_message_body() -> int:
    per_file = settings.HITL_ATTACHMENT_MAX_BYTES * 4 // 3 + 1024
    return per_file * settings.HITL_ATTACHMENT_MAX_COUNT + 256 * 1024


def _has_code(detail, code: str) -> bool:
    if isinstance(detail, dict):
        return any(_has_code(v, code) for v in detail.values())
    if isinstance(detail, list):
        return any(_has_code(v, code) for v in detail)
    return getattr(detail, "code", None) == code


def _valid(serializer) -> dict:
    """validated_data, or a 400 (a 413 when the only problem is size)."""
    if not serializer.is_valid():
        if _has_code(serializer.errors, "too_large"):
            exc = ValidationError(serializer.errors)
            exc.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            raise exc
        raise ValidationError(serializer.errors)
    return serializer.validated_data


def _raise(exc: escalations.EscalationError):
    raise ApiError(exc.status, exc.code, exc.message, **exc.extra) from None


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="List escalations, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=[c for c, _ in EscalationStatus.choices]),
            OpenApiParameter("conversation_id", str),
            *RATE_LIMIT_HEADERS,
        ],
        responses={200: s.EscalationSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an escalation",
        parameters=RATE_LIMIT_HEADERS,
        responses={200: s.EscalationSerializer, **ERRORS},
    ),
)
class EscalationViewSet(
    RecordsBotRequests,
    BotApiRateLimits,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    authentication_classes = [BotKeyAuthentication]
    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    serializer_class = s.EscalationSerializer
    pagination_class = NewestFirst
    # Any id segment reaches the view (the router's default refuses dots), so a malformed id is the
    # API's JSON 404 rather than Django's HTML page (found by Schemathesis: GET /escalations/0.5/).
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        key = self.request.auth
        if key is None:  # schema generation
            return Escalation.objects.none()
        mine = Escalation.objects.filter(connection_id=key.connection_id)
        if self.action == "messages":
            # Sending reads the status (and the connection, for attachments) of a 55-column row.
            return mine.only("id", "connection_id", "status")
        return mine.select_related("inbox")

    def get_serializer_context(self):
        # The queue costs two queries: the single-escalation answers carry it, the list does not.
        return {**super().get_serializer_context(), "with_queue": self.action == "retrieve"}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        limit = {"create": MAX_START_BODY, "messages": _max_message_body()}.get(self.action)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if limit and length.isdigit() and int(length) > limit:
            raise ApiError(413, "request_too_large", f"The request body is larger than {limit} bytes.")
        if request.method == "POST":
            # Parse now, so a hostile body is refused the same way whether or not the action reads it.
            request.data  # noqa: B018

    def filter_queryset(self, queryset):
        params = self.request.query_params
        wanted = params.get("status")
        if wanted:
            if wanted not in EscalationStatus.values:
                raise ValidationError({"status": f"one of {', '.join(EscalationStatus.values)}."})
            queryset = queryset.filter(status=wanted)
        if params.get("conversation_id"):
            queryset = queryset.filter(conversation_id=params["conversation_id"])
        return queryset

    @extend_schema(
        summary="Start an escalation (hand the conversation to an agent)",
        request=s.StartEscalationSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A repeat returns the first result.",
            ),
            *RATE_LIMIT_HEADERS,
        ],
        responses={
            201: s.EscalationSerializer,
            200: OpenApiResponse(
                s.EscalationSerializer, description="Already started (same key or still active)."
            ),
            409: OpenApiResponse(
                s.ErrorSerializer,
                description="no_inbox, inbox_not_ready, or outside_business_hours (the connection "
                "refuses starts while the inbox is closed): then `next_opening_at` (UTC), "
                "`opens_in_seconds`, `next_opening_local`, `time_zone` and `inbox_id` say when it opens.",
            ),
            413: OpenApiResponse(s.ErrorSerializer, description="Transcript or metadata too large."),
            422: OpenApiResponse(
                s.ErrorSerializer, description="contact_not_found: no HubSpot contact matches."
            ),
            **ERRORS,
        },
        callbacks=[EVENT_CALLBACK],
    )
    def create(self, request):
        data = _valid(s.StartEscalationSerializer(data=request.data))
        idempotency_key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(idempotency_key) > 255:
            raise ValidationError({"Idempotency-Key": "at most 255 characters."})
        try:
            esc, created = escalations.start(request.auth, data, idempotency_key=idempotency_key)
        except escalations.EscalationError as exc:
            _raise(exc)
        metrics.escalation_started(esc.connection, created)
        esc.refresh_from_db()  # an eager publish (no worker) may have opened it already
        body = s.EscalationSerializer(esc, context={"request": request, "with_queue": True}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Send the user's message (text and/or attachments) to the agent",
        request=s.SendMessageSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Used when client_message_id is absent.",
            ),
            *RATE_LIMIT_HEADERS,
        ],
        responses={
            202: s.MessageSerializer,
            200: OpenApiResponse(
                s.MessageSerializer, description="Same client_message_id: the earlier message."
            ),
            409: OpenApiResponse(s.ErrorSerializer, description="escalation_closed"),
            413: OpenApiResponse(s.ErrorSerializer, description="Attachment or body too large."),
            415: OpenApiResponse(s.ErrorSerializer, description="Attachment type not allowed."),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], url_path="messages", url_name="messages")
    def messages(self, request, pk=None):
        esc = self.get_object()
        try:
            data = _valid(s.SendMessageSerializer(data=request.data))
            # The Idempotency-Key header works here too, for bots that send it on every POST.
            client_id = data.get("client_message_id") or (request.headers.get("Idempotency-Key") or "")[:255]
            stored = []
            if data.get("attachments"):
                # Uploading to HubSpot is slow and not undone: a retry, or a closed escalation, is
                # answered before it. (add_message answers both anyway, under the escalation's lock.)
                found = escalations.existing_message(esc, client_id)
                if found:
                    return Response(s.MessageSerializer(found).data, status=status.HTTP_200_OK)
                escalations.ensure_open_for_messages(esc)
                loaded = attachment_files.load(data["attachments"])
                stored = attachment_files.upload(esc.connection, loaded)
            # A retry of a message we took is answered the same even if it closed since.
            try:
                message, created = escalations.add_message(
                    esc,
                    text=data.get("text", ""),
                    attachments=stored,
                    client_message_id=client_id,
                    # a new message's 202 is recorded in its transaction: one commit, not two
                    with_new=lambda _message: self.record_within(status.HTTP_202_ACCEPTED),
                )
            except BaseException:
                self.record_rolled_back()
                raise
            if not created:
                self.record_rolled_back()  # lost a race to a retry: its INSERTs were rolled back
        except escalations.EscalationError as exc:
            _raise(exc)
        if created and jobs.runs_in_place():
            # An eager publish (no broker) has published it already; nothing else changes. With a
            # broker the publish is at best queued by now, and the message is pending as written.
            message.refresh_from_db(fields=PUBLISH_FIELDS)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(s.MessageSerializer(message).data, status=code)

    @extend_schema(
        summary="Close the escalation and its HubSpot thread",
        request=s.CloseEscalationSerializer,
        parameters=RATE_LIMIT_HEADERS,
        responses={200: s.EscalationSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close(self, request, pk=None):
        esc = self.get_object()
        # An empty body stays valid (the bot closes); `by: user` (or `reason: user_ended`) names the end user.
        data = _valid(s.CloseEscalationSerializer(data=request.data or {}))
        escalations.close(esc, reason=data["reason"])
        esc.refresh_from_db()
        return Response(s.EscalationSerializer(esc, context={"request": request}).data)

    @extend_schema(
        summary="Events of the escalation, in sequence order (for bots that poll)",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="Only events with a larger sequence."),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1…{EVENTS_MAX_LIMIT}"),
            *RATE_LIMIT_HEADERS,
        ],
        responses={200: s.EventPageSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="events", url_name="events")
    def events(self, request, pk=None):
        esc = self.get_object()
        after = _int_param(request, "after", default=0, minimum=0, maximum=2**31)
        limit = _int_param(
            request, "limit", default=EVENTS_DEFAULT_LIMIT, minimum=1, maximum=EVENTS_MAX_LIMIT
        )
        rows = list(
            EscalationEvent.objects.filter(escalation=esc, sequence__gt=after)
            .select_related("escalation")
            .order_by("sequence")[: limit + 1]
        )
        page = rows[:limit]
        next_after = page[-1].sequence if len(rows) > limit else None
        return Response({"results": [e.envelope() for e in page], "next_after": next_after})


def _int_param(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise ValidationError({name: f"a whole number from {minimum} to {maximum} (got {raw!r})."})
    return value
