"""The two webhook endpoints of an app: `/webhooks/hubspot/<token>/app/` and `/channel/`.

Thin on purpose: the authenticator has verified the signature over the raw
body by the time `post` runs; the view parses, stores and enqueues, and answers within HubSpot's
5-second timeout without calling HubSpot. Processing happens in Celery.

No CSRF (APIView is csrf_exempt, and the only authenticator is the signature), no session.
`non_atomic_requests`: under ATOMIC_REQUESTS the whole view would be one transaction and
the on-commit enqueue would fire only at its end; storage commits its own transaction instead, so the
2xx is sent only once the events are durable (the same reasoning as dj-stripe's view, refs
dj-stripe#833).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from connections.models import HubSpotApp
from conversations.models import WebhookReceipt
from conversations.webhooks import parsing, storage
from conversations.webhooks.authentication import (
    HubSpotSignatureAuthentication,
    IsSignedByHubSpot,
    forget_app,
)
from core import metrics


class _HubSpotWebhookView(APIView):
    authentication_classes = [HubSpotSignatureAuthentication]
    permission_classes = [IsSignedByHubSpot]
    throttle_classes: list = []
    parser_classes: list = []  # the body is parsed from the verified bytes, never by DRF
    renderer_classes = [JSONRenderer]  # HubSpot reads JSON; no browsable-API negotiation per request
    http_method_names = ["post", "head", "options"]
    schema = None  # not part of the bot API's OpenAPI schema

    #: WebhookReceipt.Kind of the endpoint, and the parser of its body (set by the subclasses).
    kind: str
    parse: Callable[[bytes], list[parsing.ParsedEvent]]

    def get_exception_handler(self):
        return webhook_exception_handler

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def head(self, request, token):
        return Response(status=200)

    def post(self, request, token):
        verified = request.auth
        events = type(self).parse(verified.body)
        try:
            _receipt, new_ids = storage.store(
                app=verified.app, kind=self.kind, request=request, body=verified.body, events=events
            )
        except IntegrityError:
            # The app this process kept for the token was deleted meanwhile: as if unknown.
            if HubSpotApp.objects.filter(pk=verified.app.pk).exists():
                raise
            forget_app(token)
            raise exceptions.NotFound("No HubSpot app has this webhook URL.") from None
        metrics.webhook_stored(self.kind, len(events), len(new_ids))
        return Response(
            {"received": len(events), "new": len(new_ids), "duplicates": len(events) - len(new_ids)},
            status=200,
        )


def webhook_exception_handler(exc, context):
    """Refusals as `{"error": <code>, "message": <for a person>, "reason"?: <signature reason>}`,
    the same outer shape as the bot API's errors, but owned here: HubSpot is not a bot."""
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handling and logging apply, and HubSpot retries
    detail = getattr(exc, "detail", "")
    extra = {}
    if isinstance(detail, dict):
        extra = {k: str(v) for k, v in detail.items() if k != "detail"}
        detail = detail.get("detail", "")
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "invalid_signature"
    response.data = {"error": code, "message": str(detail), **extra}
    metrics.webhook_refused(getattr(context.get("view"), "kind", ""), response.status_code)
    return response


class AppWebhookView(_HubSpotWebhookView):
    """App subscriptions (conversation.*): a JSON array of up to 100 events."""

    kind = WebhookReceipt.Kind.APP
    parse = staticmethod(parsing.parse_app_events)


class ChannelWebhookView(_HubSpotWebhookView):
    """Custom-channel events (agent replies, channel accounts): one JSON object with `type`."""

    kind = WebhookReceipt.Kind.CHANNEL
    parse = staticmethod(parsing.parse_channel_event)
