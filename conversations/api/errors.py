"""Error bodies of the bot API: always JSON `{"error": <code>, "message": <for a person>, ...}`.

DRF's defaults vary by exception (`{"detail": ...}` or a field dict); bots handle one shape better.
Validation errors keep the per-field details under `fields` and name the first fields in `message`
("user.phone: include the country code, e.g. +44 7700 900123").
"""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core import metrics


class ApiError(exceptions.APIException):
    """An error with our own code and status, e.g. ApiError(409, "escalation_closed", "...")."""

    def __init__(self, status_code: int, code: str, message: str, **extra):
        self.status_code = status_code
        self.error_code = code
        self.extra = extra
        super().__init__(detail=message, code=code)


def _flatten(detail, prefix: str = "") -> list[tuple[str, str]]:
    """[("user.phone", "include the country code…"), ("transcript[2].role", "…")]."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            if isinstance(key, int):  # DRF keys list-item errors by index
                items += _flatten(value, f"{prefix}[{key}]")
                continue
            name = key if key != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            items += _flatten(value, path)
        return items
    if isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            return [(prefix, str(v)) for v in detail]
        items = []
        for index, value in enumerate(detail):
            if value:
                items += _flatten(value, f"{prefix}[{index}]")
        return items
    return [(prefix, str(detail))]


def _validation_body(detail) -> dict:
    pairs = _flatten(detail)
    message = "; ".join(f"{path}: {text}" if path else text for path, text in pairs[:5])
    fields: dict[str, list[str]] = {}
    for path, text in pairs:
        fields.setdefault(path or "non_field_errors", []).append(text)
    return {"error": "invalid_request", "message": message or "Invalid request.", "fields": fields}


def handle_exception(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling and logging apply
    if isinstance(exc, ApiError):
        response.data = {"error": exc.error_code, "message": str(exc.detail), **exc.extra}
    elif isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
    elif isinstance(exc, exceptions.ParseError):
        response.data = {"error": "malformed_request", "message": f"The body is not valid JSON: {exc.detail}"}
    else:
        # Django's Http404/PermissionDenied reach here as themselves, without a DRF code.
        fallback = {404: "not_found", 403: "permission_denied"}.get(response.status_code, "error")
        code = getattr(exc, "default_code", fallback)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            code = "unauthorized"
            response.status_code = status.HTTP_401_UNAUTHORIZED
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        detail = getattr(exc, "detail", None) or response.data.get("detail") or str(exc)
        response.data = {"error": code, "message": str(detail)}
    metrics.bot_api_refused(context.get("view"), response.status_code, response.data.get("error"))
    return response


def error_response(status_code: int, code: str, message: str, **extra) -> Response:
    return Response({"error": code, "message": message, **extra}, status=status_code)
