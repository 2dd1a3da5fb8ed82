"""Who may post to a webhook URL: HubSpot, proven by the v3 signature over the exact raw bytes.

A DRF authenticator, because DRF runs it in `initial()` before the handler and before anything
touches `request.data`: the raw body must be read first (encode/django-rest-framework#2774,
zulip/zulip#13847), and the signature is checked over exactly those bytes.

Order of refusals, cheapest first, nothing written to the database for any of them:
declared Content-Length over the limit → 413; missing signature headers → 401; unknown URL token
→ 404; body read over the limit → 413 (never more than limit + 1 bytes are read, also for a chunked
body without Content-Length); bad, stale or future signature → 401 with the verifier's reason. The prior
integration answered 2xx to rejected requests, so HubSpot never learnt.

The app of a URL token is kept per process for HITL_WEBHOOK_APP_CACHE_SECONDS (`_app_for`): reading
it and decrypting its secrets was a fifth of a 1-event webhook's cost. A signature that does not
match the kept secret is checked once more against the app read afresh before it is refused, so a
rotated client secret never causes a false 401; an app deleted (or given a new token) stops being
accepted when its entry expires, at once in the process that changed it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from connections.models import HubSpotApp
from conversations.webhooks.signature import SignatureError, verify_v3

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send the body with a Content-Length header."
    default_code = "length_required"


class SignatureInvalid(exceptions.AuthenticationFailed):
    """401 whose body names the reason (`missing`, `stale`, `future`, `mismatch`…)."""

    def __init__(self, reason: str, message: str):
        super().__init__({"detail": message, "reason": reason})


@dataclass(frozen=True)
class VerifiedWebhook:
    """What a request proved: which app signed it, and the bytes it signed."""

    app: HubSpotApp
    body: bytes


def _remote_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class HubSpotSignatureAuthentication(BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request  # the raw body lives on Django's request
        token = request.parser_context["kwargs"].get("token")
        if request.method == "HEAD":
            # URL checks carry no signature; they learn only whether the URL exists.
            _app_for(token)
            return None
        limit = settings.HITL_WEBHOOK_MAX_BODY_BYTES
        declared = _declared_length(django_request)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            logger.warning("webhook without signature headers from %s refused", _remote_ip(request))
            raise SignatureInvalid("missing", f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required.")
        app = _app_for(token)
        body = read_body(django_request, limit, declared)
        # The URL HubSpot called is ours to know, not the Host header's to tell: a forged Host
        # must not change what the signature is checked over.
        uri = settings.PUBLIC_BASE_URL.rstrip("/") + django_request.get_full_path()

        def verify(app: HubSpotApp) -> None:
            verify_v3(
                secrets=[app.client_secret],
                method=request.method,
                uri=uri,
                body=body,
                signature=signature,
                timestamp=timestamp,
            )

        try:
            try:
                verify(app)
            except SignatureError as exc:
                if exc.reason != "mismatch":
                    raise
                # Perhaps signed with a secret rotated since this process kept the app: read again.
                app = _app_for(token, fresh=True)
                verify(app)
        except SignatureError as exc:
            logger.warning(
                "webhook for app %s from %s refused: %s", app.app_id, _remote_ip(request), exc.reason
            )
            raise SignatureInvalid(exc.reason, str(exc)) from None
        return (None, VerifiedWebhook(app=app, body=body))

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a refused signature.
        return 'HubSpot-Signature-v3 realm="webhooks"'


def _declared_length(django_request) -> int | None:
    raw = django_request.META.get("CONTENT_LENGTH") or ""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise exceptions.ParseError("Content-Length is not a number of bytes.")
    return int(raw)


def read_body(django_request, limit: int, declared: int | None) -> bytes:
    """The raw body, reading at most `limit` + 1 bytes whatever the client declared or sends.

    Not `request.body`: that reads everything first, and answers 400 (RequestDataTooBig) above
    DATA_UPLOAD_MAX_MEMORY_SIZE. With a Content-Length, Django's stream stops at it (a client
    sending more than it declared gets its extra bytes ignored, and the signature, computed over
    what it meant to send, fails). Without one, a chunked body is read from the server's decoded
    `wsgi.input` (gunicorn decodes chunked requests; Django's runserver cannot, hence 411 there).
    """
    chunked = "chunked" in django_request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        if declared is not None:
            body = django_request.read(limit + 1)
        elif chunked:
            body = django_request.META["wsgi.input"].read(limit + 1)
        else:
            body = b""
    except OSError:  # the client went away mid-body (UnreadablePostError, gunicorn's NoMoreData)
        raise exceptions.ParseError("The body ended before it was complete.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    if declared is not None and len(body) < declared:
        raise exceptions.ParseError(f"The body ended after {len(body)} of its {declared} bytes.")
    if chunked and declared is None and not body:
        raise LengthRequired("This server cannot read a chunked body: send it with a Content-Length header.")
    django_request._body = body  # what `request.body` answers from now on
    return body


_apps: dict[str, tuple[float, HubSpotApp]] = {}  # URL token → (when read, on the monotonic clock; app)


def _app_for(token, *, fresh: bool = False) -> HubSpotApp:
    """The app of a webhook URL token, kept per process (see the module docstring); 404 if none."""
    key = str(token)
    kept = None if fresh else _apps.get(key)
    if kept is not None and time.monotonic() - kept[0] < settings.HITL_WEBHOOK_APP_CACHE_SECONDS:
        return kept[1]
    app = HubSpotApp.objects.filter(webhook_token=token).first()
    if app is None:
        _apps.pop(key, None)
        raise exceptions.NotFound("No HubSpot app has this webhook URL.")
    _apps[key] = (time.monotonic(), app)
    return app


def forget_app(token) -> None:
    _apps.pop(str(token), None)


def _forget_changed_app(sender, instance, **kwargs) -> None:
    # This process forgets at once; the others when the entry expires (or on a mismatch).
    for key, (_, app) in list(_apps.items()):
        if app.pk == instance.pk:
            _apps.pop(key, None)


post_save.connect(_forget_changed_app, sender=HubSpotApp, dispatch_uid="webhooks-forget-saved-app")
post_delete.connect(_forget_changed_app, sender=HubSpotApp, dispatch_uid="webhooks-forget-deleted-app")


class IsSignedByHubSpot(BasePermission):
    """Only a verified request reaches the handler (HEAD excepted: it touches nothing)."""

    def has_permission(self, request, view) -> bool:
        return request.method == "HEAD" or isinstance(request.auth, VerifiedWebhook)
