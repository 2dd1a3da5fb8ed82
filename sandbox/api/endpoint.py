"""The one wrapper every sandbox API view runs inside.

`route(GET=handler, POST=handler, ...)` builds the URL's view; each handler is declared with
`@endpoint(auth=..., scopes=...)`. Per request, in HubSpot's order:

1. an injected failure from SandboxBehaviour (before auth: an outage does not check credentials),
2. authentication (Bearer or hapikey) and scopes,
3. the app+portal rate limit (429 with Retry-After once the 10-second window is used up),
4. the handler; `ApiError` becomes HubSpot's error body,

and every answer carries `X-HubSpot-Correlation-Id` plus, once the caller is known, the
`X-HubSpot-RateLimit-*` headers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import realism
from sandbox.api import auth
from sandbox.api.errors import ApiError
from sandbox.models import SandboxBehaviour


def endpoint(*, auth_kind: str, scopes: tuple[str, ...] = ()) -> Callable:
    def decorator(handler: Callable) -> Callable:
        @wraps(handler)
        def wrapper(request, *args, **kwargs):
            correlation_id = str(uuid.uuid4())
            rate_headers: dict[str, str] = {}
            try:
                behaviour = SandboxBehaviour.current()
                failure = realism.take_injected_failure(behaviour, request.path)
                if failure is not None:
                    raise failure
                caller = None
                if auth_kind == auth.BEARER:
                    caller = auth.authenticate_bearer(request)
                    auth.require_scopes(caller, scopes)
                elif auth_kind == auth.HAPIKEY:
                    caller = auth.authenticate_hapikey(request)
                request.caller = caller
                if caller is not None:
                    window = realism.count_request(behaviour, caller.rate_key, caller.rate_group)
                    rate_headers = window.headers()
                response = handler(request, *args, **kwargs)
            except ApiError as exc:
                response = exc.response(correlation_id)
            response["X-HubSpot-Correlation-Id"] = correlation_id
            for name, value in rate_headers.items():
                response.setdefault(name, value)
            return response

        return wrapper

    return decorator


def route(**handlers: Callable) -> Callable:
    """One URL, several methods; an unlisted method gets HubSpot's 405 body."""

    @csrf_exempt
    def view(request, *args, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            error = ApiError(405, f"HTTP {request.method} is not supported by this URL", "VALIDATION_ERROR")
            response = error.response()
            response["Allow"] = ", ".join(handlers)
            return response
        return handler(request, *args, **kwargs)

    return view


# Request and response helpers ------------------------------------------------------------------


def json_body(request) -> dict:
    """The JSON object sent, or {} for an empty body; malformed JSON is HubSpot's 400."""
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Invalid input JSON: {exc}", "VALIDATION_ERROR") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
    return data


def ok(data: dict, status: int = 200, **headers: str) -> JsonResponse:
    response = JsonResponse(data, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def no_content() -> HttpResponse:
    return HttpResponse(status=204)
