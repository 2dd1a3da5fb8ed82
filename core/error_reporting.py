"""Optional error reporting to Sentry (or a Sentry-compatible service): on when SENTRY_DSN is set.

Django and Celery integrations, so unhandled errors of web requests and tasks are reported with
their request id as a tag. Personal data is off (what `send_default_pii=False` meant, in the
SDK's current `data_collection` terms): no user identity, no request bodies and no frame locals
(where end users' details and messages live).
Every event is scrubbed before it leaves the process with the logs' redaction
(`core.logging.redact`: secret query parameters, `Authorization`, token JSON) plus what only an
error report can carry: values under secret-sounding keys and the portal's own key formats
anywhere (bot API keys `hitl_…`, callback secrets `whsec_…`).
"""

from __future__ import annotations

import re

from django.conf import settings

from core import request_id
from core.logging import redact
from core.secrets import MASK

_SECRET_KEY = re.compile(
    r"(?i)(pass(word)?|secret|token|api[_-]?key|hapikey|authorization|cookie|session|csrf|"
    r"credential|private|signature|dsn|plaintext|fernet|encryption[_-]?keys?)"
)
_OWN_FORMATS = re.compile(r"\b(hitl_|whsec_)[A-Za-z0-9+/=_-]{6,}")


def _scrub(value, key: str = ""):
    if key and _SECRET_KEY.search(key) and isinstance(value, str | int | float | bytes) and value:
        return MASK
    if isinstance(value, dict):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, key) for v in value]
    if isinstance(value, str):
        return _OWN_FORMATS.sub(lambda m: m.group(1) + MASK, redact(value))
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: the event as it may leave the process."""
    event = _scrub(event)
    current = request_id.current()
    if current:
        event.setdefault("tags", {})["request_id"] = current
    return event


def setup(*, transport=None) -> bool:
    """Initialise sentry-sdk if SENTRY_DSN is set; True if it was. `transport` is for tests."""
    dsn = getattr(settings, "SENTRY_DSN", "")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Personal data off. `data_collection` is the SDK's successor of send_default_pii=False
        # (which it now deprecates): no user identity, no request bodies, no frame variables:
        # end users' names, phones, emails and messages pass through those (stack traces keep
        # file, line and function).
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        include_local_variables=False,
        max_request_body_size="never",
        environment=settings.SENTRY_ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: _scrub(crumb),
        **options,
    )
    return True
