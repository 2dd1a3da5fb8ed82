"""HubSpot's error responses: `{status, message, correlationId, category, ...}` (contract §3.2).

Views raise `ApiError`; the endpoint wrapper turns it into the JSON body HubSpot would send.
OAuth token errors are the exception: HubSpot answers them with the error code in `status`
(`{"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}`), see `OAuthError`.
"""

from __future__ import annotations

import uuid

from django.http import JsonResponse


class ApiError(Exception):
    """An HTTP error in HubSpot's shape. Extra keys (errors, context, subCategory...) go in `extra`."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str,
        *,
        headers: dict[str, str] | None = None,
        **extra,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.headers = headers or {}
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def body(self, correlation_id: str) -> dict:
        return {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
            **self.extra,
        }

    def response(self, correlation_id: str | None = None) -> JsonResponse:
        correlation_id = correlation_id or str(uuid.uuid4())
        response = JsonResponse(self.body(correlation_id), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        # The answer HubSpot would give, not a fault of this server: the caller's HubSpot client logs
        # it, and the access log has the request line. Django's request logger would otherwise add
        # a WARNING per answer, e.g. for the 404 that says an app has no webhook settings yet.
        response._has_been_logged = True
        return response


def validation_error(
    message: str, *, field: str | None = None, code: str = "INVALID_INPUT", **extra
) -> ApiError:
    """400 VALIDATION_ERROR; `field` goes into errors[].in and context so clients can see what failed."""
    if field is not None:
        extra.setdefault("errors", [{"message": message, "code": code, "in": field}])
        extra.setdefault("context", {"propertyName": [field]})
    return ApiError(400, message, "VALIDATION_ERROR", **extra)


def missing_fields(model: str, fields: list[str]) -> ApiError:
    """HubSpot's wording when a required attribute is absent from a request body."""
    message = (
        f"Invalid input JSON: Cannot build {model}, some of required attributes are not set "
        f"[{', '.join(fields)}]"
    )
    errors = [{"message": f"{name} is required", "code": "REQUIRED_FIELD", "in": name} for name in fields]
    return ApiError(400, message, "VALIDATION_ERROR", errors=errors, context={"missingFields": fields})


def not_found(message: str = "Resource not found", **context: str) -> ApiError:
    ctx = {k: [str(v)] for k, v in context.items()} or None
    return ApiError(404, message, "OBJECT_NOT_FOUND", context=ctx)


class OAuthError(ApiError):
    """OAuth token errors keep HubSpot's code-in-`status` form (BAD_AUTH_CODE, BAD_REFRESH_TOKEN...).

    `category` is added because both SDKs' Error models require one; clients key on `status`.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(status, message, "BAD_REQUEST")
        self.code = code

    def body(self, correlation_id: str) -> dict:
        return {
            "status": self.code,
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
