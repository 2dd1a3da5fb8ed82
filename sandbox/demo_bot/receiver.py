"""The demo bot's callback URL: signed event envelopes from the portal, verified, stored once.

401 for a missing or wrong signature (nothing stored), 400 for a body that is not an envelope.
Events for conversations this page did not start are acknowledged (200) and dropped, so the portal
does not retry them for a day.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.demo_bot import inbox, signing
from sandbox.models.demo_bot import DemoBot, DemoChat

HEADER = "X-HITL-Signature"


@csrf_exempt  # signed by the portal instead; a browser never posts here
@require_POST
def callback(request: HttpRequest) -> JsonResponse:
    bot = DemoBot.objects.filter(pk=1).first()
    header = request.headers.get(HEADER, "")
    secret = bot.callback_secret.reveal() if bot is not None else ""
    if "webhook-signature" in request.headers:  # the connection signs the Standard Webhooks way
        valid = bool(secret) and signing.verify_standard(request.headers, request.body, secret)
    else:
        valid = bool(secret) and signing.verify(header, request.body, secret)
    if not valid:
        return JsonResponse({"error": f"missing or invalid {HEADER} (or webhook-signature)"}, status=401)
    try:
        envelope = json.loads(request.body)
        if envelope.get("type") == "ping":  # "Send test event" on the connection's page
            return JsonResponse({"pong": True})
        conversation_id = envelope["conversation_id"]
        escalation_id = str(envelope["escalation_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "not an event envelope"}, status=400)
    chat = (
        DemoChat.objects.filter(escalation_id=escalation_id).first()
        or DemoChat.objects.filter(conversation_id=conversation_id).first()
    )
    if chat is None:
        return JsonResponse({"ignored": "no chat of this page has that conversation"})
    if not chat.escalation_id:
        DemoChat.objects.filter(pk=chat.pk).update(escalation_id=escalation_id)
    stored = inbox.store(chat, envelope, source="callback")
    return JsonResponse({"stored": stored})
