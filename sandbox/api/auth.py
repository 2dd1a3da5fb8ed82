"""Who is calling: an OAuth access token (Bearer) or an app's developer API key (`?hapikey=`).

Both SDKs sometimes send both (hubspot_sdk adds hapikey to every request when configured, contract
§0.1), so each endpoint names the one credential it accepts and ignores the other. Messages follow
what HubSpot answers for each failure, including the expired-token wording clients match on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.crypto import constant_time_compare

from sandbox.api.errors import ApiError
from sandbox.models import SandboxApp, SandboxPortal, SandboxToken
from sandbox.serializers import iso

BEARER = "bearer"
HAPIKEY = "hapikey"
NONE = "none"

OAUTH_HELP = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
MISSING_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
    f"more details at {OAUTH_HELP}"
)
MISSING_HAPIKEY = (
    "Authentication credentials not found. This API supports developer API key (hapikey) authentication."
)
AUTH_FAILURE_HEADER = {"X-HubSpot-Auth-Failure": "401 Unauthorized"}


@dataclass(frozen=True)
class Caller:
    app: SandboxApp
    portal: SandboxPortal | None = None
    token: SandboxToken | None = None

    @property
    def rate_key(self) -> str:
        return f"{self.app.pk}:{self.portal.pk if self.portal else '-'}"

    @property
    def rate_group(self) -> str:
        portal = self.portal.portal_id if self.portal else "developer"
        return f"publicapi:oauth:{self.app.app_id}:{portal}"


def _unauthorized(message: str, category: str = "INVALID_AUTHENTICATION", **extra) -> ApiError:
    return ApiError(401, message, category, headers=AUTH_FAILURE_HEADER, **extra)


def bearer_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticate_bearer(request) -> Caller:
    raw = bearer_token(request)
    if not raw:
        raise _unauthorized(MISSING_CREDENTIALS)
    token = (
        SandboxToken.objects.select_related("app", "portal")
        .filter(kind=SandboxToken.Kind.ACCESS, token=raw)
        .first()
    )
    if token is None or token.revoked_at is not None:
        # HubSpot gives an unknown or revoked token the same answer as no token at all.
        raise _unauthorized(MISSING_CREDENTIALS)
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise _unauthorized(
            f"The OAuth token used to make this call expired {_ago(now - token.expires_at)} ago.",
            "EXPIRED_AUTHENTICATION",
            context={"expire time": [iso(token.expires_at)]},
        )
    return Caller(app=token.app, portal=token.portal, token=token)


def _ago(delta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}(s)"
    return f"{seconds} second(s)"


def authenticate_hapikey(request) -> Caller:
    key = request.GET.get("hapikey", "")
    if not key:
        raise _unauthorized(MISSING_HAPIKEY)
    app = SandboxApp.objects.filter(developer_api_key=key).first()
    if app is None or not constant_time_compare(app.developer_api_key, key):
        raise _unauthorized(
            "The API key provided is invalid. View or manage your API key here: "
            "https://app.hubspot.com/l/api-key/"
        )
    # The v3 guide sends ?appId= with the key; a mismatch means the key is not this app's.
    app_id = request.GET.get("appId")
    if app_id and app_id != str(app.app_id):
        raise ApiError(403, f"The API key provided does not own app {app_id}.", "INVALID_AUTHENTICATION")
    return Caller(app=app)


def require_scopes(caller: Caller, scopes: tuple[str, ...]) -> None:
    """403 MISSING_SCOPES unless the token holds every scope in `scopes`."""
    if caller.token is None or not scopes:
        return
    granted = set(caller.token.scopes or [])
    missing = [s for s in scopes if s not in granted]
    if missing:
        raise ApiError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about "
            "required scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": list(scopes)},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )
