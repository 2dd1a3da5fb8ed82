"""JSON answers for failures that would otherwise be Django's HTML 500 page.

- A stored secret this process cannot decrypt (`core.crypto.DecryptionFailed`: a key missing from
  its FIELD_ENCRYPTION_KEYS, typically a process not yet restarted during a key rotation) is 503
  `{"error": "secrets_unavailable", ...}` with `Retry-After`, on any path: the same request succeeds
  on a process holding the key, so a client or load balancer should retry, not give up.
- Any other unhandled exception under the bot API (`/api/`) is 500 in the bot API's error shape,
  `{"error": "server_error", "message": ...}`, never HTML. The message names no internals.

Both are logged (redacted, as every record) with the traceback, as Django logs its own 500s, and
`got_request_exception` is sent as Django sends it, so error reporting (Sentry's Django
integration listens to it) still sees failures answered here.
"""

import logging

from django.core.signals import got_request_exception
from django.http import JsonResponse

from core.crypto import DecryptionFailed

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 30


def secrets_unavailable() -> JsonResponse:
    response = JsonResponse(
        {
            "error": "secrets_unavailable",
            "message": "This server cannot read a stored secret right now (its encryption keys are "
            "being changed). Retry shortly.",
            "retry_after": RETRY_AFTER_SECONDS,
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error() -> JsonResponse:
    return JsonResponse(
        {"error": "server_error", "message": "The server failed to handle this request; it has been logged."},
        status=500,
    )


class JsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DecryptionFailed):
            logger.error("Secret not decryptable: %s", request.path, exc_info=exception)
            got_request_exception.send(sender=None, request=request)
            return secrets_unavailable()
        if request.path_info.startswith(API_PREFIX):
            logger.error("Internal Server Error: %s", request.path, exc_info=exception)
            got_request_exception.send(sender=None, request=request)
            return server_error()
        return None


def handler500(request):
    """Django's last resort (an exception outside a view, e.g. in a middleware): JSON under /api/."""
    if request.path_info.startswith(API_PREFIX):
        return server_error()
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
