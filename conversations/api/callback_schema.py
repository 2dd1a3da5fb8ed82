"""The callbacks a bot receives, described in the OpenAPI schema (an OpenAPI `callbacks` object on
the start endpoint), so code generators and Swagger UI show the event body next to the call that
subscribes to it. drf-spectacular emits no parameters for callbacks: the headers are described in
the text. docs/bot-api.md is the prose."""

from drf_spectacular.utils import OpenApiCallback, OpenApiResponse, extend_schema

from conversations.api import serializers as s

EVENT_CALLBACK = OpenApiCallback(
    "events",
    "{$request.body#/callback_url}",
    extend_schema(
        summary="An event of the escalation, signed (see docs/bot-api.md)",
        description="Headers: X-HITL-Event-Id (the same on every retry: dedupe on it), "
        "X-HITL-Event-Type, X-HITL-Sequence, X-Request-ID (the request that caused it, when "
        "known), and the connection's signature: X-HITL-Signature `t=<unix s>,v1=<hex HMAC-SHA256 "
        "of '<t>.<raw body>'>` (default) or Standard Webhooks `webhook-id`, `webhook-timestamp`, "
        "`webhook-signature: v1,<base64>`. Verify over the raw body first; answer 2xx within "
        "10 s. Anything else is retried (10 s, 30 s, 1 min, 5 min, 15 min, then hourly, for at "
        "least 24 h); per escalation, events come in sequence order.",
        request=s.EventSerializer,
        responses={
            200: OpenApiResponse(description="Accepted (any 2xx)."),
            401: OpenApiResponse(description="Signature refused: retried like any failure."),
        },
    ),
)
